package useragent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInstance(t *testing.T) {
	const id = "i-0123456789abcdef0"
	for _, tc := range []struct {
		name, ua, want string
	}{
		{"sdk with app id", "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux api/ec2#1.344.3 " + SDKAppID(id), id},
		{"sdk app id in the middle", "aws-sdk-go-v2/1.0 " + SDKAppID(id) + " m/E", id},
		{"fleet client", Fleet("v0.9.0-12-gabc", id), id},
		{"fleet client, dev version", Fleet("dev", id), id},
		{"probe", "volfailover-probe", ""},
		{"alert poster", "volfailover-alert", ""},
		{"sandbox fleet client", "volfailover-sandbox", ""},
		{"test with an instance but no app id", "Go-http-client/1.1 " + id, ""},
		{"app id of another application", "aws-sdk-go-v2/1.0 app/other-" + id, ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Instance(tc.ua)
			require.Equal(t, tc.want, got, "got %q want %q for %q", got, tc.want, tc.ua)
			require.Equal(t, tc.want != "", ok, "got ok %t for %q", ok, tc.ua)
		})
	}
}
