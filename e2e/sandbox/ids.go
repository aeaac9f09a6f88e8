package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// randomHex returns n random hex digits.
func randomHex(n int) (string, error) {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b)[:n], nil
}

// newIDs returns an EC2 instance ID and a fleet machine ID.
func newIDs() (instance, machine string, err error) {
	i, err := randomHex(17)
	if err != nil {
		return "", "", err
	}
	m, err := randomHex(32)
	if err != nil {
		return "", "", err
	}
	return "i-" + i, m, nil
}
