package admin

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/volfailover/volfailover/state"
)

// table writes aligned columns; flush with Flush.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// stamp prints a time as RFC 3339 in UTC, "-" when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Duration prints d to the millisecond below a minute and to the second above.
func Duration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// or returns s, or dash when s is empty.
func or(s, dash string) string {
	if s == "" {
		return dash
	}
	return s
}

// RenderStatus writes the human status: leader, hosts, volumes, overrides,
// in-flight moves with their timelines, and the last moves, the newest of
// which with its timeline step by step.
func RenderStatus(w io.Writer, s *Status) error {
	var b strings.Builder
	fmt.Fprintf(&b, "volfailover status at %s (prefix %s)\n\n", stamp(s.Time), s.Prefix)
	if s.Leader == nil {
		b.WriteString("LEADER  none: no instance holds the election, nothing acts\n")
	} else {
		fmt.Fprintf(&b, "LEADER  %s\n", s.Leader.Instance)
	}

	fmt.Fprintf(&b, "\nHOSTS (%d)\n", len(s.Hosts))
	if len(s.Hosts) > 0 {
		t := table(&b)
		fmt.Fprintln(t, "INSTANCE\tAZ\tPRIVATE IP\tMACHINE\tNOFAILOVER\tVERSION\tSINCE")
		for _, h := range s.Hosts {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n", h.Instance, h.AZ, h.PrivateIP, h.Machine, h.NoFailover, or(h.Version, "-"), stamp(h.Since))
		}
		_ = t.Flush()
	}
	if s.MixedVersions {
		var parts []string
		for _, v := range s.Versions {
			parts = append(parts, fmt.Sprintf("%s on %d (%s)", v.Version, len(v.Hosts), strings.Join(v.Hosts, ", ")))
		}
		fmt.Fprintf(&b, "mixed versions: %s; finish (or roll back) the upgrade\n", strings.Join(parts, "; "))
	}

	fmt.Fprintf(&b, "\nVOLUMES (%d)\n", len(s.Volumes))
	if len(s.Volumes) > 0 {
		t := table(&b)
		fmt.Fprintln(t, "VOLUME\tOWNER\tAZ\tWITNESSES\tSTATE")
		for _, v := range s.Volumes {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", v.Volume, or(v.Owner, "-"), or(v.AZ, "-"), witnesses(v.Witnesses), volumeState(v))
		}
		_ = t.Flush()
	}

	fmt.Fprintf(&b, "\nOVERRIDES (%d)\n", len(s.Overrides))
	if len(s.Overrides) > 0 {
		t := table(&b)
		fmt.Fprintln(t, "KEY\tSTATE\tDETAIL")
		for _, o := range s.Overrides {
			fmt.Fprintf(t, "%s\t%s\t%s\n", o.Key, overrideState(o), overrideDetail(o))
		}
		_ = t.Flush()
	}

	fmt.Fprintf(&b, "\nIN-FLIGHT MOVES (%d)\n", len(s.InFlight))
	for _, r := range s.InFlight {
		writeRecord(&b, r, s.Time)
	}

	fmt.Fprintf(&b, "\nLAST MOVES (%d)\n", len(s.LastMoves))
	if len(s.LastMoves) > 0 {
		writeRecordTable(&b, s.LastMoves)
		b.WriteString("\nnewest: ")
		writeRecord(&b, s.LastMoves[0], s.Time)
	}

	if len(s.Damping) > 0 {
		fmt.Fprintf(&b, "\nRECENT AUTOMATIC FAILOVERS (flap damping)\n")
		t := table(&b)
		fmt.Fprintln(t, "VOLUME\tCOUNT\tLAST")
		for _, d := range s.Damping {
			var last time.Time
			for _, f := range d.Failovers {
				if f.After(last) {
					last = f
				}
			}
			fmt.Fprintf(t, "%s\t%d\t%s\n", d.Volume, len(d.Failovers), stamp(last))
		}
		_ = t.Flush()
	}

	if len(s.Unreadable) > 0 {
		fmt.Fprintf(&b, "\nUNREADABLE KEYS (%d)\n", len(s.Unreadable))
		for _, u := range s.Unreadable {
			fmt.Fprintf(&b, "  %s: %s\n", u.Key, u.Error)
		}
	}
	return writeTrimmed(w, b.String())
}

// RenderHistory writes the history table and, with timelines, each record's steps.
func RenderHistory(w io.Writer, h *History, timelines bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "HISTORY (%d)\n", len(h.Records))
	if len(h.Records) > 0 {
		writeRecordTable(&b, h.Records)
	}
	if timelines {
		for _, r := range h.Records {
			b.WriteString("\n")
			writeRecord(&b, r, r.Finished)
		}
	}
	if len(h.Unreadable) > 0 {
		fmt.Fprintf(&b, "\nUNREADABLE KEYS (%d)\n", len(h.Unreadable))
		for _, u := range h.Unreadable {
			fmt.Fprintf(&b, "  %s: %s\n", u.Key, u.Error)
		}
	}
	return writeTrimmed(w, b.String())
}

func writeRecordTable(b *strings.Builder, recs []state.Record) {
	t := table(b)
	fmt.Fprintln(t, "VOLUME\tID\tKIND\tFROM\tTO\tSTEP\tSTARTED\tTOOK\tREASON")
	for _, r := range recs {
		took := "-"
		if !r.Finished.IsZero() {
			took = Duration(r.Finished.Sub(r.Created))
		}
		kind := string(r.Kind)
		if r.DryRun {
			kind += " (dry-run)"
		}
		if r.Abandoned != "" {
			kind += " (ABANDONED)"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Volume, r.ID, kind, or(r.From.Instance, "-"), r.To.Instance, r.Step, stamp(r.Created), took, r.Reason)
	}
	_ = t.Flush()
}

// writeRecord writes a record's header and its timeline; a step without an end
// is running, its duration counted up to now.
func writeRecord(b *strings.Builder, r state.Record, now time.Time) {
	fmt.Fprintf(b, "%s %s of %s: %s -> %s in %s, step %s (created %s", r.Kind, r.ID, r.Volume, or(r.From.Instance, "(none)"), r.To.Instance, or(r.AZ, "-"), r.Step, stamp(r.Created))
	if !r.Finished.IsZero() {
		fmt.Fprintf(b, ", finished %s, took %s", stamp(r.Finished), Duration(r.Finished.Sub(r.Created)))
	}
	fmt.Fprintf(b, ")\n  reason: %s\n", r.Reason)
	if r.Abandoned != "" {
		fmt.Fprintf(b, "  ABANDONED: %s\n", r.Abandoned)
	}
	if len(r.PreviousTargets) > 0 {
		fmt.Fprintf(b, "  previous targets: %s\n", strings.Join(r.PreviousTargets, ", "))
	}
	for _, sig := range r.Signals {
		fmt.Fprintf(b, "  signal: %s ok=%t %s\n", sig.Source, sig.OK, sig.Detail)
	}
	t := table(b)
	fmt.Fprintln(t, "  STEP\tAT\tTOOK\tATTEMPTS\tLEADER\tNOTE")
	for _, st := range r.Timeline {
		took := "-"
		switch {
		case !st.End.IsZero():
			took = Duration(st.End.Sub(st.Start))
		case !now.IsZero() && now.After(st.Start):
			took = "running " + Duration(now.Sub(st.Start))
		}
		fmt.Fprintf(t, "  %s\t+%s\t%s\t%d\t%s\t%s\n", st.Step, Duration(st.Start.Sub(r.Created)), took, st.Attempts, or(st.Leader, "-"), stepNote(st))
	}
	_ = t.Flush()
}

func stepNote(st state.StepRecord) string {
	var notes []string
	if st.Overdue {
		notes = append(notes, "OVERDUE (paged)")
	}
	if st.Skipped != "" {
		notes = append(notes, "skipped: "+st.Skipped)
	}
	if st.Note != "" {
		notes = append(notes, st.Note)
	}
	if st.Error != "" {
		notes = append(notes, "last error: "+st.Error)
	}
	return strings.Join(notes, "; ")
}

func witnesses(rs []state.Report) string {
	if len(rs) == 0 {
		return "-"
	}
	ok := 0
	for _, r := range rs {
		if r.Reachable {
			ok++
		}
	}
	return fmt.Sprintf("%d/%d reachable", ok, len(rs))
}

func volumeState(v VolumeStatus) string {
	var parts []string
	if v.Moving != "" {
		parts = append(parts, "moving (step "+v.Moving+")")
	}
	if v.Paused != "" {
		parts = append(parts, "PAUSED: "+v.Paused)
	}
	if v.SwitchoverTo != "" {
		parts = append(parts, "switchover to "+v.SwitchoverTo+" requested")
	}
	if len(parts) == 0 {
		return "managed"
	}
	return strings.Join(parts, "; ")
}

func overrideState(o Override) string {
	if o.State == StateMalformed {
		return "MALFORMED (treated as pause)"
	}
	return o.State
}

func overrideDetail(o Override) string {
	if o.State == StateMalformed {
		return o.Error
	}
	d := fmt.Sprintf("reason %q", o.Reason)
	if o.To != "" {
		d = "to " + o.To + ", " + d
	}
	if o.Until != nil {
		d += ", until " + stamp(*o.Until)
	}
	return d
}

// writeTrimmed writes s without the trailing blanks tabwriter leaves after an empty last column.
func writeTrimmed(w io.Writer, s string) error {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
