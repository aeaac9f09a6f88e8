package ec2sim

import (
	"bytes"
	"encoding/xml"
	"strings"
	"time"
)

// XML shapes of the responses (spec §2). Lists are wrapper elements holding
// <item> children; every success body starts with <requestId>.

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ts formats a timestamp the way AWS does, with milliseconds.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xmlTags(tags map[string]string) []xmlTag {
	out := make([]xmlTag, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		out = append(out, xmlTag{Key: k, Value: tags[k]})
	}
	return out
}

type xmlAttachment struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// xmlAttachmentSet is always written, so an available volume shows <attachmentSet/>.
type xmlAttachmentSet struct {
	Items []xmlAttachment `xml:"item"`
}

type xmlVolume struct {
	VolumeID           string           `xml:"volumeId"`
	Size               int              `xml:"size"`
	SnapshotID         string           `xml:"snapshotId"`
	AvailabilityZone   string           `xml:"availabilityZone"`
	Status             string           `xml:"status"`
	CreateTime         string           `xml:"createTime"`
	AttachmentSet      xmlAttachmentSet `xml:"attachmentSet"`
	Tags               []xmlTag         `xml:"tagSet>item"`
	VolumeType         string           `xml:"volumeType"`
	Iops               int              `xml:"iops"`
	Throughput         int              `xml:"throughput"`
	Encrypted          bool             `xml:"encrypted"`
	KmsKeyID           string           `xml:"kmsKeyId,omitempty"`
	MultiAttachEnabled bool             `xml:"multiAttachEnabled"`
}

type describeVolumesResponse struct {
	XMLName   xml.Name    `xml:"DescribeVolumesResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	RequestID string      `xml:"requestId"`
	Volumes   []xmlVolume `xml:"volumeSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

type attachmentResponse struct {
	XMLName             xml.Name
	Xmlns               string `xml:"xmlns,attr"`
	RequestID           string `xml:"requestId"`
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination *bool  `xml:"deleteOnTermination,omitempty"`
}

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xmlBDM struct {
	DeviceName string `xml:"deviceName"`
	EBS        struct {
		VolumeID            string `xml:"volumeId"`
		Status              string `xml:"status"`
		AttachTime          string `xml:"attachTime"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	} `xml:"ebs"`
}

type xmlStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xmlInstance struct {
	InstanceID     string   `xml:"instanceId"`
	ImageID        string   `xml:"imageId"`
	State          xmlState `xml:"instanceState"`
	PrivateDNSName string   `xml:"privateDnsName,omitempty"`
	Reason         string   `xml:"reason"`
	InstanceType   string   `xml:"instanceType"`
	LaunchTime     string   `xml:"launchTime"`
	Placement      struct {
		AvailabilityZone string `xml:"availabilityZone"`
		Tenancy          string `xml:"tenancy"`
	} `xml:"placement"`
	SubnetID         string          `xml:"subnetId"`
	VpcID            string          `xml:"vpcId"`
	PrivateIPAddress string          `xml:"privateIpAddress,omitempty"`
	RootDeviceType   string          `xml:"rootDeviceType"`
	RootDeviceName   string          `xml:"rootDeviceName"`
	BDM              []xmlBDM        `xml:"blockDeviceMapping>item"`
	Tags             []xmlTag        `xml:"tagSet>item"`
	StateReason      *xmlStateReason `xml:"stateReason,omitempty"`
}

type xmlReservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	GroupSet      struct{}      `xml:"groupSet"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type describeInstancesResponse struct {
	XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	RequestID    string           `xml:"requestId"`
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type xmlStatusDetail struct {
	Name          string `xml:"name"`
	Status        string `xml:"status"`
	ImpairedSince string `xml:"impairedSince,omitempty"`
}

type xmlSummary struct {
	Status  string            `xml:"status"`
	Details []xmlStatusDetail `xml:"details>item,omitempty"`
}

type xmlInstanceStatus struct {
	InstanceID       string     `xml:"instanceId"`
	AvailabilityZone string     `xml:"availabilityZone"`
	State            xmlState   `xml:"instanceState"`
	SystemStatus     xmlSummary `xml:"systemStatus"`
	InstanceStatus   xmlSummary `xml:"instanceStatus"`
	Events           []xmlEvent `xml:"eventsSet>item,omitempty"`
}

// xmlEvent is one InstanceStatusEvent (API reference: InstanceStatusEvent).
type xmlEvent struct {
	InstanceEventID string `xml:"instanceEventId"`
	Code            string `xml:"code"`
	Description     string `xml:"description"`
	NotBefore       string `xml:"notBefore"`
	NotAfter        string `xml:"notAfter,omitempty"`
}

type describeInstanceStatusResponse struct {
	XMLName   xml.Name            `xml:"DescribeInstanceStatusResponse"`
	Xmlns     string              `xml:"xmlns,attr"`
	RequestID string              `xml:"requestId"`
	Statuses  []xmlInstanceStatus `xml:"instanceStatusSet>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

type xmlStateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  xmlState `xml:"currentState"`
	PreviousState xmlState `xml:"previousState"`
}

type stopInstancesResponse struct {
	XMLName   xml.Name         `xml:"StopInstancesResponse"`
	Xmlns     string           `xml:"xmlns,attr"`
	RequestID string           `xml:"requestId"`
	Instances []xmlStateChange `xml:"instancesSet>item"`
}

type createTagsResponse struct {
	XMLName   xml.Name `xml:"CreateTagsResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Return    bool     `xml:"return"`
}

// marshal renders a response document with the XML declaration.
func marshal(v any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	// Every value here is a plain struct of strings, ints and bools: encoding
	// cannot fail.
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		panic("ec2sim: marshal response: " + err.Error())
	}
	return b.Bytes()
}

// textEscaper escapes character data; quotes stay readable, as in AWS's own
// error messages.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// errorBody renders the EC2 error document (spec §1.1).
func errorBody(code, message, requestID string) []byte {
	return []byte(xml.Header + "<Response><Errors><Error><Code>" + textEscaper.Replace(code) +
		"</Code><Message>" + textEscaper.Replace(message) + "</Message></Error></Errors><RequestID>" +
		textEscaper.Replace(requestID) + "</RequestID></Response>")
}
