package awsops

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/rs/zerolog"
)

// Identity is who this host is in EC2, read from the instance metadata service.
type Identity struct {
	InstanceID, AvailabilityZone, PrivateIP, Region string
}

// LoadIdentity reads the host's instance ID, availability zone, private IPv4
// and region from IMDS (IMDSv2, with the SDK's token handling).
// imdsEndpoint overrides the endpoint (tests serve it); "" is the SDK default.
// The SDK's own log lines go to log.
func LoadIdentity(ctx context.Context, imdsEndpoint string, log zerolog.Logger) (Identity, error) {
	if err := validateEndpoint("IMDSEndpoint", imdsEndpoint); err != nil {
		return Identity{}, err
	}
	cli := imds.New(imds.Options{Endpoint: imdsEndpoint, ClientEnableState: imds.ClientEnabled, Logger: sdkLogger{log: log}})
	var id Identity
	for _, f := range []struct {
		path string
		dst  *string
	}{
		{"instance-id", &id.InstanceID},
		{"placement/availability-zone", &id.AvailabilityZone},
		{"local-ipv4", &id.PrivateIP},
		{"placement/region", &id.Region},
	} {
		v, err := metadata(ctx, cli, f.path)
		if err != nil {
			return Identity{}, err
		}
		*f.dst = v
	}
	if err := id.validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func metadata(ctx context.Context, cli *imds.Client, path string) (string, error) {
	out, err := cli.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", fmt.Errorf("read imds %s: %w", path, err)
	}
	defer func() { _ = out.Content.Close() }()
	b, err := io.ReadAll(io.LimitReader(out.Content, 4096))
	if err != nil {
		return "", fmt.Errorf("read imds %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// validate checks what IMDS said, naming the field and value.
func (id Identity) validate() error {
	switch {
	case !instanceIDRE.MatchString(id.InstanceID):
		return fmt.Errorf("imds instance-id %q is not an instance ID", id.InstanceID)
	case !regionRE.MatchString(id.Region):
		return fmt.Errorf("imds placement/region %q is not a region name", id.Region)
	case !strings.HasPrefix(id.AvailabilityZone, id.Region) || len(id.AvailabilityZone) <= len(id.Region):
		return fmt.Errorf("imds placement/availability-zone %q is not a zone of region %q", id.AvailabilityZone, id.Region)
	}
	if a, err := netip.ParseAddr(id.PrivateIP); err != nil || !a.Is4() {
		return fmt.Errorf("imds local-ipv4 %q is not an IPv4 address", id.PrivateIP)
	}
	return nil
}
