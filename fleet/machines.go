package fleet

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Machine is one live fleet host: its machine ID, primary IP and merged metadata (config
// metadata overlaid with PATCHed metadata).
type Machine struct {
	ID        string
	PrimaryIP string
	Metadata  map[string]string
}

// Metadata operations accepted by PatchMetadata. fleet treats add and replace the same
// (an upsert); remove writes a tombstone that also hides metadata from fleetd's config.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// MetadataOp changes one metadata key of one machine. Value is required for add and
// replace and must be empty for remove.
type MetadataOp struct {
	Op        string // add|replace|remove
	MachineID string
	Key       string
	Value     string
}

type wireMachine struct {
	ID        string            `json:"id"`
	PrimaryIP string            `json:"primaryIP"`
	Metadata  map[string]string `json:"metadata"`
}

// Machines lists every live machine (all pages), sorted by ID as fleet returns them.
func (c *Client) Machines(ctx context.Context) ([]Machine, error) {
	var out []Machine
	index := map[string]int{}
	err := c.eachPage(ctx, "/machines", nil, func(p *page) error {
		for i, m := range p.Machines {
			if m.ID == "" {
				return fmt.Errorf("machine %d of page: id is empty", i)
			}
			for k := range m.Metadata {
				if k == "" {
					return fmt.Errorf("machine %q: metadata has an empty key", m.ID)
				}
			}
			got := Machine(m)
			if got.Metadata == nil {
				got.Metadata = map[string]string{}
			}
			if j, dup := index[m.ID]; dup {
				out[j] = got
				continue
			}
			index[m.ID] = len(out)
			out = append(out, got)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list fleet machines: %w", err)
	}
	return out, nil
}

// metadataKey is the key syntax fleet's PATCH path accepts (api/machines.go).
var metadataKey = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

type wireOp struct {
	Op    string       `json:"op"`
	Path  string       `json:"path"`
	Value *wireOpValue `json:"value,omitempty"`
}

// wireOpValue is the object fleet's code requires around the value ({"value":"…"}); a
// bare string is rejected with 400 despite the API documentation.
type wireOpValue struct {
	Value string `json:"value"`
}

// validate checks op against what fleet would reject, so that a bad op never reaches the
// server (fleet validates all ops before applying any, but a client-side check names
// which op is wrong).
func (op MetadataOp) validate() error {
	switch op.Op {
	case OpAdd, OpReplace:
		if op.Value == "" {
			return fmt.Errorf("op %q needs a non-empty value", op.Op)
		}
	case OpRemove:
		if op.Value != "" {
			return fmt.Errorf("op %q takes no value, got %q", op.Op, op.Value)
		}
	default:
		return fmt.Errorf("op %q must be add, replace or remove", op.Op)
	}
	if op.MachineID == "" {
		return fmt.Errorf("machine ID is empty")
	}
	if strings.ContainsAny(op.MachineID, "/ \t\r\n") {
		return fmt.Errorf("machine ID %q must not contain '/' or whitespace", op.MachineID)
	}
	if !metadataKey.MatchString(op.Key) {
		return fmt.Errorf("key %q must match [A-Za-z0-9_.-]+", op.Key)
	}
	return nil
}

// PatchMetadata applies ops in one PATCH /machines request, in order. The machine IDs are
// not checked against live machines: fleet stores metadata for any ID and applies it when
// that ID (re)joins, which is why stale metadata of a dead host must be removed
// explicitly. Every op is an upsert or a tombstone, so a retry after a 5xx (fleet may have
// applied some ops before failing) converges on the same result. An empty ops list sends
// nothing.
func (c *Client) PatchMetadata(ctx context.Context, ops []MetadataOp) error {
	if len(ops) == 0 {
		return nil
	}
	body := make([]wireOp, 0, len(ops))
	for i, op := range ops {
		if err := op.validate(); err != nil {
			return fmt.Errorf("patch fleet machine metadata: op %d: %w", i, err)
		}
		w := wireOp{Op: op.Op, Path: "/" + op.MachineID + "/metadata/" + op.Key}
		if op.Op != OpRemove {
			w.Value = &wireOpValue{Value: op.Value}
		}
		body = append(body, w)
	}
	r := call{method: http.MethodPatch, path: "/machines", body: body}
	status, _, err := c.do(ctx, r)
	if err != nil {
		return fmt.Errorf("patch fleet machine metadata (%s): %w", describeOps(ops), err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("patch fleet machine metadata (%s): %s: unexpected status %d (want 204)", describeOps(ops), r, status)
	}
	return nil
}

// describeOps renders ops for error messages: "add m1/postgres=vol-1, remove m2/postgres".
func describeOps(ops []MetadataOp) string {
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		s := op.Op + " " + op.MachineID + "/" + op.Key
		if op.Value != "" {
			s += "=" + op.Value
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
