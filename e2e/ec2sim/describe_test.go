package ec2sim

import (
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
)

// manyVolumes seeds n available volumes in us-east-1a; every third lacks the managed tag.
func manyVolumes(n int, allManaged bool) *Seed {
	seed := &Seed{}
	for i := range n {
		tags := map[string]string{"volfailover:managed": "true"}
		if !allManaged && i%3 == 2 {
			tags = map[string]string{"other": "x"}
		}
		seed.Volumes = append(seed.Volumes, SeedVolume{ID: volID(0x1000 + i), AZ: "us-east-1a", Size: 8, Tags: tags})
	}
	return seed
}

func TestDescribeVolumesPagination(t *testing.T) {
	e := newEnv(t, manyVolumes(23, true))
	p := ec2.NewDescribeVolumesPaginator(e.ec2, &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5)})
	var sizes []int
	var ids []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		require.NoError(t, err, "page %d", len(sizes)+1)
		sizes = append(sizes, len(out.Volumes))
		for _, v := range out.Volumes {
			ids = append(ids, *v.VolumeId)
		}
		if len(sizes) < 5 {
			require.NotEmpty(t, aws.ToString(out.NextToken), "page %d has a nextToken", len(sizes))
		} else {
			require.Empty(t, aws.ToString(out.NextToken), "last page has no nextToken")
		}
	}
	require.Equal(t, []int{5, 5, 5, 5, 3}, sizes)
	require.Len(t, ids, 23)
	require.True(t, sort.StringsAreSorted(ids), "volumes come sorted by ID")
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "volume %s returned twice", id)
		seen[id] = true
	}
	require.Len(t, e.sim.Journal(), 5, "one call per page")

	// Exactly a multiple of the page size: the last page carries no token.
	e2 := newEnv(t, manyVolumes(10, true))
	out, err := e2.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5)})
	require.NoError(t, err)
	out, err = e2.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5), NextToken: out.NextToken})
	require.NoError(t, err)
	require.Len(t, out.Volumes, 5)
	require.Nil(t, out.NextToken, "no token after the last item")
}

func TestDescribeInstancesPagination(t *testing.T) {
	seed := &Seed{}
	for i := range 12 {
		seed.Instances = append(seed.Instances, SeedInstance{ID: instID(0x100 + i), AZ: "us-east-1a", State: "running"})
	}
	e := newEnv(t, seed)
	p := ec2.NewDescribeInstancesPaginator(e.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		require.NoError(t, err)
		pages++
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
	}
	require.Equal(t, 12, n)
	require.Equal(t, 3, pages)
}

func volumeIDs(vs []types.Volume) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, *v.VolumeId)
	}
	return out
}

func TestVolumeFilters(t *testing.T) {
	e := newEnv(t, worldSeed())
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		filters []types.Filter
		ids     []string
		want    []string
	}{
		{"tag exact", []types.Filter{f("tag:volfailover:managed", "true")}, nil, []string{v1, v2}},
		{"tag star", []types.Filter{f("tag:cluster", "db*")}, nil, []string{v1, v2, v3}},
		{"tag question mark", []types.Filter{f("tag:cluster", "db?")}, nil, []string{v1, v2}},
		{"escaped star", []types.Filter{f("tag:cluster", `db\*3`)}, nil, []string{v3}},
		{"escaped star does not match others", []types.Filter{f("tag:cluster", `db\*`)}, nil, []string{}},
		{"tag-key", []types.Filter{f("tag-key", "cluster")}, nil, []string{v1, v2, v3}},
		{"tag-value", []types.Filter{f("tag-value", "db2")}, nil, []string{v2}},
		{"attachment instance", []types.Filter{f("attachment.instance-id", i1, i4)}, nil, []string{v1, v4}},
		{"attachment status", []types.Filter{f("attachment.status", "attached")}, nil, []string{v1, v4}},
		{"attachment device", []types.Filter{f("attachment.device", "/dev/xvd?")}, nil, []string{v1, v4}},
		{"status available", []types.Filter{f("status", "available")}, nil, []string{v2, v3}},
		{"values ORed", []types.Filter{f("volume-id", v2, v3)}, nil, []string{v2, v3}},
		{"filters ANDed", []types.Filter{f("status", "available"), f("availability-zone", "us-east-1a")}, nil, []string{v2}},
		{"size and type", []types.Filter{f("size", "20"), f("volume-type", "gp3")}, nil, []string{v2, v3}},
		{"no match is empty", []types.Filter{f("tag:cluster", "nope")}, nil, []string{}},
		{"unknown id in filter is empty", []types.Filter{f("volume-id", volID(99))}, nil, []string{}},
		{"ids and filter", []types.Filter{f("status", "in-use")}, []string{v1, v2}, []string{v1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{Filters: tc.filters, VolumeIds: tc.ids})
			require.NoError(t, err)
			require.Equal(t, tc.want, volumeIDs(out.Volumes))
		})
	}
}

func TestVolumeView(t *testing.T) {
	e := newEnv(t, worldSeed())
	v := e.volume(v1)
	require.Equal(t, types.VolumeStateInUse, v.State)
	require.Equal(t, "us-east-1a", *v.AvailabilityZone)
	require.Equal(t, int32(50), *v.Size)
	require.Equal(t, types.VolumeTypeGp3, v.VolumeType)
	require.Len(t, v.Attachments, 1)
	a := v.Attachments[0]
	require.Equal(t, i1, *a.InstanceId)
	require.Equal(t, "/dev/xvdf", *a.Device)
	require.Equal(t, types.VolumeAttachmentStateAttached, a.State)
	require.False(t, *a.DeleteOnTermination)
	require.NotNil(t, a.AttachTime)
	tags := map[string]string{}
	for _, tg := range v.Tags {
		tags[*tg.Key] = *tg.Value
	}
	require.Equal(t, map[string]string{"volfailover:managed": "true", "cluster": "db1"}, tags)
}

func TestInstanceFiltersAndView(t *testing.T) {
	e := newEnv(t, worldSeed())
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"private ip", []types.Filter{f("private-ip-address", "10.0.1.2")}, []string{i2}},
		{"state names", []types.Filter{f("instance-state-name", "stopped", "pending")}, []string{i4, i5}},
		{"state code", []types.Filter{f("instance-state-code", "16"), f("availability-zone", "us-east-1b")}, []string{i3}},
		{"bdm volume", []types.Filter{f("block-device-mapping.volume-id", v4)}, []string{i4}},
		{"tag wildcard", []types.Filter{f("tag:Name", "core*")}, []string{i1, i2}},
		{"no match", []types.Filter{f("instance-id", instID(99))}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{Filters: tc.filters})
			require.NoError(t, err)
			got := []string{}
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					got = append(got, *in.InstanceId)
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
	in := e.instance(i1)
	require.Equal(t, types.InstanceStateNameRunning, in.State.Name)
	require.Equal(t, int32(16), *in.State.Code)
	require.Equal(t, "10.0.1.1", *in.PrivateIpAddress)
	require.Equal(t, "us-east-1a", *in.Placement.AvailabilityZone)
	require.Len(t, in.BlockDeviceMappings, 1)
	require.Equal(t, "/dev/xvdf", *in.BlockDeviceMappings[0].DeviceName)
	require.Equal(t, v1, *in.BlockDeviceMappings[0].Ebs.VolumeId)
	require.Equal(t, types.AttachmentStatusAttached, in.BlockDeviceMappings[0].Ebs.Status)
	stopped := e.instance(i4)
	require.Equal(t, "Client.UserInitiatedShutdown", *stopped.StateReason.Code)
}

func TestDescribeInstanceStatus(t *testing.T) {
	e := newEnv(t, worldSeed())
	statuses := func(in *ec2.DescribeInstanceStatusInput) map[string][3]string {
		out, err := e.ec2.DescribeInstanceStatus(ctx(t), in)
		require.NoError(t, err)
		m := map[string][3]string{}
		for _, s := range out.InstanceStatuses {
			m[*s.InstanceId] = [3]string{string(s.InstanceState.Name), string(s.InstanceStatus.Status), string(s.SystemStatus.Status)}
		}
		return m
	}
	tests := []struct {
		name string
		in   *ec2.DescribeInstanceStatusInput
		want map[string][3]string
	}{
		{"running only by default", &ec2.DescribeInstanceStatusInput{}, map[string][3]string{
			i1: {"running", "ok", "ok"}, i2: {"running", "ok", "ok"}, i3: {"running", "ok", "ok"}}},
		{"explicit stopped omitted", &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i1, i4}}, map[string][3]string{
			i1: {"running", "ok", "ok"}}},
		{"include all", &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i1, i4, i5}, IncludeAllInstances: aws.Bool(true)}, map[string][3]string{
			i1: {"running", "ok", "ok"}, i4: {"stopped", "not-applicable", "not-applicable"}, i5: {"pending", "not-applicable", "not-applicable"}}},
		{"filter", &ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true),
			Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}}}, map[string][3]string{
			i4: {"stopped", "not-applicable", "not-applicable"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, statuses(tc.in)) })
	}
	t.Run("impaired by SetInstanceStatus", func(t *testing.T) {
		require.NoError(t, e.sim.SetInstanceStatus(i2, "impaired", "ok"))
		out, err := e.ec2.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i2}})
		require.NoError(t, err)
		s := out.InstanceStatuses[0]
		require.Equal(t, types.SummaryStatusImpaired, s.InstanceStatus.Status)
		require.Equal(t, types.StatusTypeFailed, s.InstanceStatus.Details[0].Status)
		require.NotNil(t, s.InstanceStatus.Details[0].ImpairedSince)
		require.Equal(t, types.SummaryStatusOk, s.SystemStatus.Status)
		got := statuses(&ec2.DescribeInstanceStatusInput{Filters: []types.Filter{{Name: aws.String("instance-status.status"), Values: []string{"impaired"}}}})
		require.Equal(t, map[string][3]string{i2: {"running", "impaired", "ok"}}, got)
		require.Error(t, e.sim.SetInstanceStatus(i2, "broken", ""), "unknown summary rejected")
		require.Error(t, e.sim.SetInstanceStatus(instID(99), "ok", "ok"), "unknown instance rejected")
	})
}

func TestCreateTags(t *testing.T) {
	e := newEnv(t, worldSeed())
	_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{v2, i2},
		Tags:      []types.Tag{{Key: aws.String("cluster"), Value: aws.String("moved")}, {Key: aws.String("epoch"), Value: aws.String("7")}},
	})
	require.NoError(t, err)
	require.True(t, e.lastCall().Mutating())
	out, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("tag:epoch"), Values: []string{"7"}}}})
	require.NoError(t, err)
	require.Equal(t, []string{v2}, volumeIDs(out.Volumes))
	in := e.instance(i2)
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[*tg.Key] = *tg.Value
	}
	require.Equal(t, map[string]string{"Name": "core2", "cluster": "moved", "epoch": "7"}, tags)
}
