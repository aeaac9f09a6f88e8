package ec2sim

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
)

func TestWireSuccessShape(t *testing.T) {
	e := newEnv(t, worldSeed())
	resp, body := e.post(url.Values{"Action": {"DescribeVolumes"}, "Version": {"2016-11-15"}, "VolumeId.1": {v2}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "text/xml;charset=UTF-8", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("Date"), "Date header")
	rid := resp.Header.Get("X-Amzn-Requestid")
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, rid)
	require.True(t, strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+rid+`</requestId>`), "got %s", body)
	require.Contains(t, body, "<attachmentSet></attachmentSet>", "available volume has an empty attachmentSet")
	require.NotContains(t, body, "nextToken", "single page has no nextToken")
}

func TestWireErrorShape(t *testing.T) {
	e := newEnv(t, worldSeed())
	resp, body := e.post(url.Values{"Action": {"DetachVolume"}, "Version": {"2016-11-15"}, "VolumeId": {v2}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	rid := resp.Header.Get("X-Amzn-Requestid")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Response><Errors><Error><Code>IncorrectState</Code><Message>Volume '` + v2 +
		`' is in the 'available' state.</Message></Error></Errors><RequestID>` + rid + `</RequestID></Response>`
	require.Equal(t, want, body)
	require.Equal(t, "text/xml;charset=UTF-8", resp.Header.Get("Content-Type"))
}

func TestSDKErrorText(t *testing.T) {
	e := newEnv(t, worldSeed())
	_, err := e.detach(v2, false)
	code, status := apiCode(t, err)
	require.Equal(t, "IncorrectState", code)
	require.Equal(t, 400, status)
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re))
	require.Equal(t, e.lastCall().RequestID, re.ServiceRequestID(), "request ID from header matches the journal")
	require.Contains(t, err.Error(), "api error IncorrectState: Volume '"+v2+"' is in the 'available' state.")
}

func TestRawProtocolErrors(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		msg    string
	}{
		{"missing action", url.Values{"Version": {"2016-11-15"}}, 400, "MissingAction", "parameter Action"},
		{"invalid action", url.Values{"Action": {"RunInstances"}}, 400, "InvalidAction", "RunInstances"},
		{"unknown parameter", url.Values{"Action": {"DescribeVolumes"}, "String": {"x"}}, 400, "UnknownParameter", "The parameter String is not recognized"},
		{"attach without device", url.Values{"Action": {"AttachVolume"}, "VolumeId": {v2}, "InstanceId": {i2}}, 400, "MissingParameter", "Device"},
		{"attach without volume", url.Values{"Action": {"AttachVolume"}, "Device": {"/dev/xvdh"}, "InstanceId": {i2}}, 400, "MissingParameter", "VolumeId"},
		{"detach without volume", url.Values{"Action": {"DetachVolume"}}, 400, "MissingParameter", "VolumeId"},
		{"stop without ids", url.Values{"Action": {"StopInstances"}}, 400, "MissingParameter", "InstanceId"},
		{"tags without tags", url.Values{"Action": {"CreateTags"}, "ResourceId.1": {v1}}, 400, "MissingParameter", "Tag"},
		{"tags without resources", url.Values{"Action": {"CreateTags"}, "Tag.1.Key": {"a"}}, 400, "MissingParameter", "ResourceId"},
		{"filter without values", url.Values{"Action": {"DescribeVolumes"}, "Filter.1.Name": {"status"}}, 400, "InvalidParameterValue", "status"},
		{"bad boolean", url.Values{"Action": {"DetachVolume"}, "VolumeId": {v1}, "Force": {"yes"}}, 400, "InvalidParameterValue", "Force"},
		{"bad next token", url.Values{"Action": {"DescribeInstances"}, "NextToken": {"garbage"}}, 400, "InvalidPaginationToken", "garbage"},
		{"token of another action", url.Values{"Action": {"DescribeInstances"}, "NextToken": {encodeToken("DescribeVolumes", v1)}}, 400, "InvalidPaginationToken", ""},
	}
	e := newEnv(t, worldSeed())
	codeRe := regexp.MustCompile(`<Code>([^<]*)</Code><Message>([^<]*)</Message>`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.post(tc.form)
			require.Equal(t, tc.status, resp.StatusCode, body)
			m := codeRe.FindStringSubmatch(body)
			require.NotNil(t, m, "error body: %s", body)
			require.Equal(t, tc.code, m[1])
			require.Contains(t, m[2], tc.msg)
			require.Contains(t, body, "<RequestID>"+resp.Header.Get("X-Amzn-Requestid")+"</RequestID>")
		})
	}
	t.Run("GET is refused", func(t *testing.T) {
		resp, err := e.srv.Client().Get(e.srv.URL + "/?Action=DescribeVolumes")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

func TestSDKErrorCodes(t *testing.T) {
	e := newEnv(t, worldSeed())
	c := e.ec2
	many := make([]string, 101)
	for i := range many {
		many[i] = instID(1000 + i)
	}
	tests := []struct {
		name string
		call func() error
		code string
		msg  []string // substrings of the message
	}{
		{"malformed volume", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{VolumeIds: []string{"vol-malformedvolume"}})
			return err
		}, "InvalidVolumeID.Malformed", []string{`Invalid id: "vol-malformedvolume"`}},
		{"malformed instance", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"ma1"}})
			return err
		}, "InvalidInstanceID.Malformed", []string{`Invalid id: "ma1"`}},
		{"unknown volume", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{VolumeIds: []string{v1, volID(99)}})
			return err
		}, "InvalidVolume.NotFound", []string{"The volume '" + volID(99) + "' does not exist."}},
		{"two unknown volumes", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{VolumeIds: []string{volID(98), v1, volID(99)}})
			return err
		}, "InvalidVolume.NotFound", []string{volID(98), volID(99)}},
		{"unknown instances", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{instID(98), i1, instID(99)}})
			return err
		}, "InvalidInstanceID.NotFound", []string{"The instance IDs '" + instID(98) + ", " + instID(99) + "' do not exist"}},
		{"unknown instance status", func() error {
			_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{instID(98)}})
			return err
		}, "InvalidInstanceID.NotFound", []string{"The instance ID '" + instID(98) + "' does not exist"}},
		{"attach in use elsewhere", func() error { _, err := e.attach(v1, i2, "/dev/xvdh"); return err }, "VolumeInUse", []string{v1 + " is already attached to an instance"}},
		{"attach in use same instance", func() error { _, err := e.attach(v1, i1, "/dev/xvdh"); return err }, "VolumeInUse", nil},
		{"attach zone mismatch", func() error { _, err := e.attach(v3, i1, "/dev/xvdh"); return err }, "InvalidVolume.ZoneMismatch",
			[]string{"The volume '" + v3 + "' is not in the same availability zone as instance '" + i1 + "'"}},
		{"attach device in use", func() error { _, err := e.attach(v2, i1, "/dev/xvdf"); return err }, "InvalidParameterValue",
			[]string{"Invalid value '/dev/xvdf' for unixDevice. Attachment point /dev/xvdf is already in use"}},
		{"attach bad device", func() error { _, err := e.attach(v2, i1, "/dev/sdk1"); return err }, "InvalidParameterValue",
			[]string{"Value (/dev/sdk1) for parameter device is invalid. /dev/sdk1 is not a valid EBS device name."}},
		{"attach pending instance", func() error { _, err := e.attach(v2, i5, "/dev/xvdh"); return err }, "IncorrectState", []string{"Instance '" + i5 + "' is not 'running'."}},
		{"attach unknown volume", func() error { _, err := e.attach(volID(99), i1, "/dev/xvdh"); return err }, "InvalidVolume.NotFound", nil},
		{"attach unknown instance", func() error { _, err := e.attach(v2, instID(99), "/dev/xvdh"); return err }, "InvalidInstanceID.NotFound", nil},
		{"detach available", func() error { _, err := e.detach(v2, false); return err }, "IncorrectState", []string{"'available'"}},
		{"detach other instance", func() error {
			_, err := c.DetachVolume(ctx(t), &ec2.DetachVolumeInput{VolumeId: aws.String(v1), InstanceId: aws.String(i2)})
			return err
		}, "InvalidAttachment.NotFound", []string{"Volume " + v1 + " can not be detached from " + i2 + " because it is not attached"}},
		{"detach other device", func() error {
			_, err := c.DetachVolume(ctx(t), &ec2.DetachVolumeInput{VolumeId: aws.String(v1), Device: aws.String("/dev/xvdz")})
			return err
		}, "InvalidAttachment.NotFound", nil},
		{"stop pending", func() error { _, err := e.stop(i5, false); return err }, "IncorrectInstanceState", []string{"never reached the 'running' state"}},
		{"stop unknown", func() error { _, err := e.stop(instID(99), false); return err }, "InvalidInstanceID.NotFound", nil},
		{"tag malformed id", func() error {
			_, err := c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{"vol-xyz"}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "InvalidID", []string{"The ID 'vol-xyz' is not valid"}},
		{"tag unknown volume", func() error {
			_, err := c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{volID(99)}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "InvalidVolume.NotFound", nil},
		{"max results too small", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{MaxResults: aws.Int32(1)})
			return err
		}, "InvalidParameterValue", []string{"Value ( 1 ) for parameter maxResults is invalid. Expecting a value greater than 5."}},
		{"max results too large", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)})
			return err
		}, "InvalidParameterValue", []string{"1001"}},
		{"max results with volume ids", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5), VolumeIds: []string{v1}})
			return err
		}, "InvalidParameterCombination", []string{"The parameter volumeSet cannot be used with the parameter maxResults"}},
		{"max results with instance ids", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{i1}})
			return err
		}, "InvalidParameterCombination", []string{"The parameter instancesSet cannot be used with the parameter maxResults"}},
		{"max results with status ids", func() error {
			_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{MaxResults: aws.Int32(5), InstanceIds: []string{i1}})
			return err
		}, "InvalidParameterCombination", []string{"instancesSet"}},
		{"unknown filter", func() error {
			_, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-Id"), Values: []string{i1}}}})
			return err
		}, "InvalidParameterValue", []string{"The filter 'attachment.instance-Id' is invalid"}},
		{"status over 100 ids", func() error {
			_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: many})
			return err
		}, "InvalidParameterValue", []string{"101"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			code, status := apiCode(t, err)
			require.Equal(t, tc.code, code, "error: %v", err)
			require.Equal(t, http.StatusBadRequest, status)
			for _, m := range tc.msg {
				require.Contains(t, err.Error(), m)
			}
			last := e.lastCall()
			require.Equal(t, tc.code, last.Code, "journal code")
			require.Equal(t, http.StatusBadRequest, last.Status, "journal status")
		})
	}
	// None of the refused mutations changed the world.
	require.Equal(t, []SeedAttachment{{InstanceID: i1, Device: "/dev/xvdf", State: "attached"}}, e.sim.VolumeAttachments(v1))
	require.Nil(t, e.sim.VolumeAttachments(v2))
	require.Equal(t, "pending", e.sim.InstanceState(i5))
}

func TestDryRun(t *testing.T) {
	tags := []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	calls := map[string]func(e *env) error{
		"DescribeVolumes": func(e *env) error {
			_, err := e.ec2.DescribeVolumes(ctx(e.t), &ec2.DescribeVolumesInput{DryRun: aws.Bool(true)})
			return err
		},
		"AttachVolume": func(e *env) error {
			_, err := e.ec2.AttachVolume(ctx(e.t), &ec2.AttachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(v2), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdh")})
			return err
		},
		"DetachVolume": func(e *env) error {
			_, err := e.ec2.DetachVolume(ctx(e.t), &ec2.DetachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(v1), Force: aws.Bool(true)})
			return err
		},
		"DescribeInstances": func(e *env) error {
			_, err := e.ec2.DescribeInstances(ctx(e.t), &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
			return err
		},
		"DescribeInstanceStatus": func(e *env) error {
			_, err := e.ec2.DescribeInstanceStatus(ctx(e.t), &ec2.DescribeInstanceStatusInput{DryRun: aws.Bool(true)})
			return err
		},
		"StopInstances": func(e *env) error {
			_, err := e.ec2.StopInstances(ctx(e.t), &ec2.StopInstancesInput{DryRun: aws.Bool(true), InstanceIds: []string{i1}})
			return err
		},
		"CreateTags": func(e *env) error {
			_, err := e.ec2.CreateTags(ctx(e.t), &ec2.CreateTagsInput{DryRun: aws.Bool(true), Resources: []string{v1}, Tags: tags})
			return err
		},
		"ModifyInstanceAttribute": func(e *env) error {
			_, err := e.ec2.ModifyInstanceAttribute(ctx(e.t), &ec2.ModifyInstanceAttributeInput{DryRun: aws.Bool(true), InstanceId: aws.String(i1),
				BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String("/dev/xvdf"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}})
			return err
		},
	}
	for _, action := range actionNames {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t, worldSeed())
			code, status := apiCode(t, calls[action](e))
			require.Equal(t, "DryRunOperation", code)
			require.Equal(t, http.StatusPreconditionFailed, status)
			last := e.lastCall()
			require.True(t, last.DryRun, "journal dry-run flag")
			require.False(t, last.Mutating(), "a dry run is not a mutation")
			require.Equal(t, action, last.Action)

			e.sim.Arm(Fault{Kind: FaultUnauthorized, Action: action})
			code, status = apiCode(t, calls[action](e))
			require.Equal(t, "UnauthorizedOperation", code)
			require.Equal(t, http.StatusForbidden, status)
			// The one-shot fault is spent: the next dry run is permitted again.
			code, _ = apiCode(t, calls[action](e))
			require.Equal(t, "DryRunOperation", code)

			require.Equal(t, "attached", e.sim.VolumeAttachments(v1)[0].State, "dry run changed nothing")
			require.Nil(t, e.sim.VolumeAttachments(v2))
			require.Equal(t, "running", e.sim.InstanceState(i1))
		})
	}
	t.Run("DryRun still checks ID syntax", func(t *testing.T) {
		e := newEnv(t, worldSeed())
		_, err := e.ec2.AttachVolume(ctx(t), &ec2.AttachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String("vol-nothex"), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdh")})
		code, _ := apiCode(t, err)
		require.Equal(t, "InvalidVolumeID.Malformed", code)
	})
}

func TestMutatingCalls(t *testing.T) {
	tests := []struct {
		c    Call
		want bool
	}{
		{Call{Action: "AttachVolume"}, true},
		{Call{Action: "DetachVolume"}, true},
		{Call{Action: "StopInstances"}, true},
		{Call{Action: "CreateTags"}, true},
		{Call{Action: "CreateTags", DryRun: true}, false},
		{Call{Action: "ModifyInstanceAttribute"}, true},
		{Call{Action: "ModifyInstanceAttribute", DryRun: true}, false},
		{Call{Action: "DescribeVolumes"}, false},
		{Call{Action: "DescribeInstanceStatus"}, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.c.Mutating(), "%+v", tc.c)
	}
}
