package admin

import (
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// Admin reads and writes volfailover's etcd keys for an operator.
type Admin struct {
	cli  *clientv3.Client
	keys state.Keys
	now  func() time.Time
	// by names the operator in default reasons ("user@host").
	by string
}

// Config is what New needs.
type Config struct {
	// Etcd is the client to use; required.
	Etcd *clientv3.Client
	// Prefix is the key prefix volfailover runs under; default "/volfailover".
	Prefix string
	// Now is the clock (pause expiry, status times); nil = time.Now.
	Now func() time.Time
	// By names the operator in default reasons, e.g. "alice@bastion"; optional.
	By string
}

// New checks the prefix with the rule the controller applies (state.CheckPrefix) and builds an Admin.
func New(c Config) (*Admin, error) {
	if c.Etcd == nil {
		return nil, errors.New("admin: etcd client is required")
	}
	if c.Prefix == "" {
		c.Prefix = state.DefaultPrefix
	}
	if err := state.CheckPrefix(c.Prefix); err != nil {
		return nil, invalid("key-prefix: %v", err)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Admin{cli: c.Etcd, keys: state.Keys{Prefix: c.Prefix}, now: c.Now, by: c.By}, nil
}

// Keys is the key layout the Admin works on.
func (a *Admin) Keys() state.Keys { return a.keys }

// byline is " by <who>" or "".
func (a *Admin) byline() string {
	if a.by == "" {
		return ""
	}
	return " by " + a.by
}

// describe renders an override value for messages.
func describe(raw []byte) string {
	if len(raw) == 0 {
		return "(none)"
	}
	return string(raw)
}
