package fleet

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPatchMetadataWire(t *testing.T) {
	rec, srv := newRecorder(t, response{status: http.StatusNoContent, headers: map[string]string{"Content-Type": "application/json"}})
	c := newTestClient(t, srv.URL)
	err := c.PatchMetadata(t.Context(), []MetadataOp{
		{Op: OpAdd, MachineID: "9a1b2c3d4e5f60718293a4b5c6d7e8f9", Key: "postgres", Value: "vol-123"},
		{Op: OpReplace, MachineID: "2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01", Key: "role", Value: "standby"},
		{Op: OpRemove, MachineID: "2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01", Key: "postgres"},
	})
	require.NoError(t, err)
	seen := rec.seen()
	require.Len(t, seen, 1, "one request for all ops")
	require.Equal(t, http.MethodPatch, seen[0].Method)
	require.Equal(t, "/fleet/v1/machines", seen[0].Path)
	require.Equal(t, "application/json", seen[0].ContentType)
	require.JSONEq(t, `[
		{"op":"add","path":"/9a1b2c3d4e5f60718293a4b5c6d7e8f9/metadata/postgres","value":{"value":"vol-123"}},
		{"op":"replace","path":"/2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01/metadata/role","value":{"value":"standby"}},
		{"op":"remove","path":"/2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01/metadata/postgres"}]`, seen[0].Body)
}

func TestPatchMetadataValidation(t *testing.T) {
	good := MetadataOp{Op: OpAdd, MachineID: "m1", Key: "postgres", Value: "vol-1"}
	tests := []struct {
		name    string
		op      MetadataOp
		wantErr string
	}{
		{name: "unknown op", op: MetadataOp{Op: "move", MachineID: "m1", Key: "k", Value: "v"}, wantErr: `op 1: op "move" must be add, replace or remove`},
		{name: "empty op", op: MetadataOp{MachineID: "m1", Key: "k", Value: "v"}, wantErr: `op 1: op "" must be add, replace or remove`},
		{name: "add without value", op: MetadataOp{Op: OpAdd, MachineID: "m1", Key: "k"}, wantErr: `op 1: op "add" needs a non-empty value`},
		{name: "replace without value", op: MetadataOp{Op: OpReplace, MachineID: "m1", Key: "k"}, wantErr: `op "replace" needs a non-empty value`},
		{name: "remove with value", op: MetadataOp{Op: OpRemove, MachineID: "m1", Key: "k", Value: "v"}, wantErr: `op "remove" takes no value, got "v"`},
		{name: "empty machine", op: MetadataOp{Op: OpRemove, Key: "k"}, wantErr: "op 1: machine ID is empty"},
		{name: "machine with slash", op: MetadataOp{Op: OpRemove, MachineID: "m1/x", Key: "k"}, wantErr: `machine ID "m1/x" must not contain '/' or whitespace`},
		{name: "machine with space", op: MetadataOp{Op: OpRemove, MachineID: "m 1", Key: "k"}, wantErr: `machine ID "m 1" must not contain`},
		{name: "empty key", op: MetadataOp{Op: OpRemove, MachineID: "m1"}, wantErr: `key "" must match [A-Za-z0-9_.-]+`},
		{name: "key with bang", op: MetadataOp{Op: OpRemove, MachineID: "m1", Key: "role!"}, wantErr: `key "role!" must match`},
		{name: "key with equals", op: MetadataOp{Op: OpAdd, MachineID: "m1", Key: "a=b", Value: "v"}, wantErr: `key "a=b" must match`},
		{name: "key with slash", op: MetadataOp{Op: OpAdd, MachineID: "m1", Key: "a/b", Value: "v"}, wantErr: `key "a/b" must match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
			c := newTestClient(t, srv.URL)
			err := c.PatchMetadata(t.Context(), []MetadataOp{good, tt.op})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.Empty(t, rec.seen(), "nothing sent when an op is invalid")
		})
	}
}

func TestPatchMetadataKeysAccepted(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.PatchMetadata(t.Context(), []MetadataOp{
		{Op: OpAdd, MachineID: "m1", Key: "Az_zone-1.b", Value: "us-east-1a"},
	}))
	require.JSONEq(t, `[{"op":"add","path":"/m1/metadata/Az_zone-1.b","value":{"value":"us-east-1a"}}]`, rec.seen()[0].Body)
}

func TestPatchMetadataEmptyIsNoop(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.PatchMetadata(t.Context(), nil))
	require.Empty(t, rec.seen())
}

func TestPatchMetadataServerRejects(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusBadRequest, `{"error":{"code":400,"message":"machine metadata path invalid"}}`))
	c := newTestClient(t, srv.URL)
	err := c.PatchMetadata(t.Context(), []MetadataOp{{Op: OpRemove, MachineID: "m1", Key: "postgres"}})
	require.Error(t, err)
	require.Equal(t, "patch fleet machine metadata (remove m1/postgres): PATCH /fleet/v1/machines: fleet api: 400 Bad Request: machine metadata path invalid", err.Error())
	require.Len(t, rec.seen(), 1, "400 is not retried")
}
