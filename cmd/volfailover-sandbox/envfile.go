package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// envFile is where up writes its KEY=VALUE lines and where the control
// commands look for SANDBOX_ENDPOINT.
const envFile = "sandbox.env"

// envLines are the KEY=VALUE lines up prints and writes.
func envLines(sb *sandbox.Sandbox) []string {
	e := sb.Endpoints()
	return []string{
		"ETCD_ENDPOINTS=" + e.Etcd,
		"EC2_ENDPOINT=" + e.EC2,
		"FLEET_ENDPOINT=" + e.Fleet,
		"SANDBOX_ENDPOINT=" + e.Control,
		"VOLUME=" + sb.Volume(),
	}
}

// controlEndpoint resolves the control API: the flag, then $SANDBOX_ENDPOINT,
// then sandbox.env in the working directory.
func controlEndpoint(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := os.Getenv("SANDBOX_ENDPOINT"); v != "" {
		return v, nil
	}
	f, err := os.Open(envFile)
	if err != nil {
		return "", fmt.Errorf("no -endpoint, no $SANDBOX_ENDPOINT and no readable %s (is a sandbox up here?): %w", envFile, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "SANDBOX_ENDPOINT="); ok && v != "" {
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", envFile, err)
	}
	return "", fmt.Errorf("%s has no SANDBOX_ENDPOINT line", envFile)
}
