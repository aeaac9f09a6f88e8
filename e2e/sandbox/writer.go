package sandbox

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Writer inserts numbered rows into a table, one autocommit INSERT at a time,
// and records every commit the server acknowledged. When the server goes
// away it reconnects to whatever host Target names, so it keeps writing
// across a failover. Acknowledged rows are the ones a failover must keep.
type Writer struct {
	// Table is created by EnsureTable; a plain identifier.
	Table string
	// Target names the host to write to now (usually the volume's owner).
	Target func() (Host, bool)
	// DSN, when set, is used instead of Target: the connection string to
	// write to now. The peer benchmark follows a Patroni leader or gives
	// pg_auto_failover's multi-host string with it.
	DSN func() (string, bool)
	// Retry is the pause after a failed attempt; default 100ms.
	Retry time.Duration

	mu      sync.Mutex
	acked   []int64
	ackedAt []time.Time // when each of acked was acknowledged
	next    int64
	inDoubt []int64 // sent, no answer: may or may not be committed
	lastOK  time.Time
	gaps    []Gap
	gapFrom time.Time
}

// Gap is a time during which no commit was acknowledged.
type Gap struct{ From, To time.Time }

// EnsureTable creates the writer's table on h.
func (w *Writer) EnsureTable(ctx context.Context, h Host) error {
	return w.EnsureTableAt(ctx, h.Name, h.DSN())
}

// EnsureTableAt creates the writer's table on the server dsn names; name
// says which in errors.
func (w *Writer) EnsureTableAt(ctx context.Context, name, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())", pgx.Identifier{w.Table}.Sanitize())
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("create table %s on %s: %w", w.Table, name, err)
	}
	return nil
}

// target is the connection string to write to now.
func (w *Writer) target() (string, bool) {
	if w.DSN != nil {
		return w.DSN()
	}
	h, ok := w.Target()
	if !ok {
		return "", false
	}
	return h.DSN(), true
}

// Run writes until ctx ends; it returns nil then.
func (w *Writer) Run(ctx context.Context) error {
	retry := w.Retry
	if retry <= 0 {
		retry = 100 * time.Millisecond
	}
	q := fmt.Sprintf("INSERT INTO %s (id) VALUES ($1)", pgx.Identifier{w.Table}.Sanitize())
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	t := time.NewTicker(retry)
	defer t.Stop()
	for ctx.Err() == nil {
		if conn == nil {
			dsn, ok := w.target()
			if ok {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				conn, _ = pgx.Connect(cctx, dsn) // failures are expected mid-failover; retried
				cancel()
			}
			if conn == nil {
				w.failed()
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				continue
			}
		}
		w.mu.Lock()
		id := w.next + 1
		w.next = id
		w.mu.Unlock()
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := conn.Exec(ictx, q, id)
		cancel()
		if err != nil {
			w.mu.Lock()
			w.inDoubt = append(w.inDoubt, id)
			w.mu.Unlock()
			w.failed()
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		w.ok(id)
	}
	return nil
}

func (w *Writer) failed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gapFrom.IsZero() {
		w.gapFrom = w.lastOK
		if w.gapFrom.IsZero() {
			w.gapFrom = time.Now()
		}
	}
}

func (w *Writer) ok(id int64) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked = append(w.acked, id)
	w.ackedAt = append(w.ackedAt, now)
	w.lastOK = now
	if !w.gapFrom.IsZero() {
		w.gaps = append(w.gaps, Gap{From: w.gapFrom, To: now})
		w.gapFrom = time.Time{}
	}
}

// Acked returns the IDs of every acknowledged row, ascending.
func (w *Writer) Acked() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...)
}

// AckTimes returns when each acknowledged commit was answered, ascending: the
// moments the volume was served (its Postgres, on the host EC2 has it attached
// to, accepted a write).
func (w *Writer) AckTimes() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.ackedAt...)
}

// InDoubt returns the IDs whose commit got no answer.
func (w *Writer) InDoubt() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.inDoubt...)
}

// Gaps returns the completed periods without an acknowledged commit.
func (w *Writer) Gaps() []Gap {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Gap(nil), w.gaps...)
}

// VerifyRows reads the table on h and returns the acknowledged IDs missing
// from it (nil when none is) and how many rows it checked.
func VerifyRows(ctx context.Context, h Host, table string, acked []int64) (missing []int64, checked int, err error) {
	return VerifyRowsAt(ctx, h.Name, h.DSN(), table, acked)
}

// VerifyRowsAt is VerifyRows on the server dsn names; name says which in errors.
func VerifyRowsAt(ctx context.Context, name, dsn, table string, acked []int64) (missing []int64, checked int, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, 0, fmt.Errorf("connect to %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT id FROM %s", pgx.Identifier{table}.Sanitize()))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s on %s: %w", table, name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, 0, fmt.Errorf("read %s on %s: %w", table, name, err)
	}
	have := make(map[int64]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	for _, id := range acked {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	return missing, len(acked), nil
}
