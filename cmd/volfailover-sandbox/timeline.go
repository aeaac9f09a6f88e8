package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/state"
)

// keyPrefix is volfailover's default etcd key prefix, which the sandbox's
// controllers use.
const keyPrefix = state.DefaultPrefix

// latestRecord returns the volume's newest failover record: the in-progress
// journal entry if there is one, else the newest history entry.
func latestRecord(ctx context.Context, cli *clientv3.Client, volume string) (*state.Record, error) {
	keys := state.Keys{Prefix: keyPrefix}
	resp, err := cli.Get(ctx, keys.JournalVolume(volume))
	if err != nil {
		return nil, fmt.Errorf("read journal of %s: %w", volume, err)
	}
	if len(resp.Kvs) == 1 {
		return decodeRecord(resp.Kvs[0].Key, resp.Kvs[0].Value)
	}
	resp, err = cli.Get(ctx, keys.HistoryVolume(volume), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(1))
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", volume, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return decodeRecord(resp.Kvs[0].Key, resp.Kvs[0].Value)
}

// decodeRecord parses a record with the controller's own parser, so the demo
// judges records exactly as the leader does.
func decodeRecord(key, value []byte) (*state.Record, error) {
	r, err := state.ParseRecord(value, 0)
	if err != nil {
		return nil, fmt.Errorf("failover record %s: %w", key, err)
	}
	return r, nil
}

// printer prints the failover's timeline as it grows, each line once.
type printer struct {
	out    io.Writer
	t0     time.Time // the fault
	seen   map[string]bool
	events int
}

func newPrinter(out io.Writer, t0 time.Time) *printer {
	return &printer{out: out, t0: t0, seen: map[string]bool{}}
}

func (p *printer) at(t time.Time) string {
	return fmt.Sprintf("[%+8.3fs]", t.Sub(p.t0).Seconds())
}

func (p *printer) once(key string, t time.Time, format string, args ...any) {
	if p.seen[key] {
		return
	}
	p.seen[key] = true
	fmt.Fprintf(p.out, "%s %s\n", p.at(t), fmt.Sprintf(format, args...))
}

// record prints what is new in r.
func (p *printer) record(r *state.Record, names map[string]string) {
	p.once("planned:"+r.ID, r.Created, "controller: %s %s planned, %s -> %s: %s",
		r.Kind, r.ID, hostOf(names, r.From.Instance), hostOf(names, r.To.Instance), r.Reason)
	if !p.seen["signals:"+r.ID] && len(r.Signals) > 0 {
		p.seen["signals:"+r.ID] = true
		for _, s := range r.Signals {
			ok := "fail"
			if s.OK {
				ok = "ok"
			}
			fmt.Fprintf(p.out, "%11s   verdict signal %-12s %-4s %s\n", "", s.Source, ok, s.Detail)
		}
	}
	for _, st := range r.Timeline {
		if st.Error != "" {
			p.once(fmt.Sprintf("err:%s:%s:%s", r.ID, st.Step, st.Error), r.Updated, "controller: step %s attempt %d failed: %s", st.Step, st.Attempts, st.Error)
		}
		if st.End.IsZero() {
			continue
		}
		extra := ""
		if st.Skipped != "" {
			extra = " (skipped: " + st.Skipped + ")"
		}
		if st.Attempts > 1 {
			extra += fmt.Sprintf(" after %d attempts", st.Attempts)
		}
		p.once("step:"+r.ID+":"+string(st.Step), st.End, "controller: step %-15s done in %7.3fs%s", st.Step, st.End.Sub(st.Start).Seconds(), extra)
	}
}

// sandboxEvents prints the sandbox's own events not printed yet.
func (p *printer) sandboxEvents(evs []sandbox.Event) {
	for ; p.events < len(evs); p.events++ {
		e := evs[p.events]
		if e.Time.Before(p.t0) {
			continue
		}
		fmt.Fprintf(p.out, "%s sandbox: %s %s\n", p.at(e.Time), e.Host, e.What)
	}
}

// hostOf names an instance by its host, for readable lines.
func hostOf(names map[string]string, instance string) string {
	if n, ok := names[instance]; ok {
		return n + " (" + instance + ")"
	}
	if instance == "" {
		return "-"
	}
	return instance
}

// stepTable renders a finished record's steps for the summary.
func stepTable(r *state.Record) string {
	steps := append([]state.StepRecord(nil), r.Timeline...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Start.Before(steps[j].Start) })
	var b strings.Builder
	for _, st := range steps {
		d := "-"
		if !st.End.IsZero() {
			d = fmt.Sprintf("%.3fs", st.End.Sub(st.Start).Seconds())
		}
		fmt.Fprintf(&b, "    %-15s %9s  attempts %d", st.Step, d, st.Attempts)
		if st.Skipped != "" {
			fmt.Fprintf(&b, "  skipped: %s", st.Skipped)
		}
		b.WriteString("\n")
	}
	return b.String()
}
