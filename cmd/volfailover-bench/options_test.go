package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o options)
	}{
		{name: "defaults", args: []string{"-out", "docs/benchmarks"}, check: func(t *testing.T, o options) {
			require.Equal(t, 10, o.runs)
			require.Equal(t, []ec2sim.Profile{ec2sim.ProfileInstant, ec2sim.ProfileAWSTypical}, o.profiles)
			require.Equal(t, benchmarks, o.only)
			require.Equal(t, 1000, o.volumes)
			require.Equal(t, 300, o.outage)
			require.Equal(t, ec2sim.BucketsOn, o.buckets, "the outage runs within EC2's request limits")
			require.Equal(t, 0.5, o.load, "half of every bucket is left to other tools")
			require.False(t, o.throttleFirst)
		}},
		{name: "buckets off", args: []string{"-buckets", "off", "-background-load", "0"}, check: func(t *testing.T, o options) {
			require.Equal(t, ec2sim.BucketsOff, o.buckets)
		}},
		{name: "load without buckets", args: []string{"-buckets", "off"}, wantErr: "buckets are off"},
		{name: "load of one", args: []string{"-background-load", "1"}, wantErr: "want 0 <= load < 1"},
		{name: "short shrinks", args: []string{"-short"}, check: func(t *testing.T, o options) {
			require.Equal(t, 2, o.runs)
			require.Equal(t, 60, o.volumes)
			require.Equal(t, 12, o.outage)
			require.Equal(t, 6*time.Second, o.window)
		}},
		{name: "only and profile", args: []string{"-only", "scale, footprint", "-profile", "aws-typical", "-runs", "3"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"scale", "takeover"}, o.only, "footprint is measured by takeover")
			require.Equal(t, []ec2sim.Profile{ec2sim.ProfileAWSTypical}, o.profiles)
			require.Equal(t, 3, o.runs)
		}},
		{name: "peers alone", args: []string{"-only", "peers", "-runs", "5"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"peers"}, o.only)
			require.Equal(t, 5, o.runs)
		}},
		{name: "peer tools", args: []string{"-only", "peers", "-peer-tools", "pg_auto_failover, Patroni"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"pg_auto_failover", "Patroni"}, o.peerTools)
			require.True(t, wantTool(o.peerTools, "patroni"))
			require.False(t, wantTool(o.peerTools, "volfailover"))
			require.True(t, wantTool(nil, "volfailover"), "no list means every tool")
		}},
		{name: "unknown peer tool", args: []string{"-peer-tools", "stolon"}, wantErr: `-peer-tools "stolon"`},
		{name: "unknown benchmark", args: []string{"-only", "speed"}, wantErr: `-only "speed"`},
		{name: "unknown profile", args: []string{"-profile", "slow"}, wantErr: "-profile"},
		{name: "zero runs", args: []string{"-runs", "0"}, wantErr: "-runs 0"},
		{name: "outage too big", args: []string{"-volumes", "30", "-outage", "10"}, wantErr: "-outage 10"},
		{name: "stray argument", args: []string{"now"}, wantErr: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestCommands(t *testing.T) {
	o, err := parseFlags([]string{"-only", "scale"}, io.Discard)
	require.NoError(t, err)
	cmds := commands(o)
	require.Equal(t, "make bench   # = go run ./cmd/volfailover-bench -out docs/benchmarks", cmds[0],
		"the page holds every benchmark, so its command runs them all, whatever this run's -only")
	require.Contains(t, cmds[1], "-only scale", "the second line shows how to redo one benchmark")
}
