package fleetsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DefaultStopTimeout is systemd's DefaultTimeoutStopSec: how long a stop
// may take before systemd kills what is left of the unit, when the unit
// does not say (systemd-system.conf(5)).
const DefaultStopTimeout = 90 * time.Second

// TimeoutStopSec reads the last [Service] TimeoutStopSec= of u, or
// DefaultStopTimeout when there is none. 0 means no timeout (systemd's
// "0" and "infinity"): the stop waits for the process however long it takes.
// Executors use it so that a stopped unit's process outlives its /state
// entry exactly as long as systemd would let it.
func TimeoutStopSec(u UnitFile) (time.Duration, error) {
	vs := u.Option("Service", "TimeoutStopSec")
	if len(vs) == 0 {
		return DefaultStopTimeout, nil
	}
	d, err := ParseTimespan(vs[len(vs)-1])
	if err != nil {
		return DefaultStopTimeout, fmt.Errorf("unit %s: TimeoutStopSec=%q: %w", u.Name, vs[len(vs)-1], err)
	}
	return d, nil
}

// timespanUnits are the suffixes systemd's parse_sec accepts
// (systemd.time(7)); a number without one is seconds.
var timespanUnits = map[string]time.Duration{
	"us": time.Microsecond, "usec": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseTimespan parses a systemd time span such as "90", "15s", "1min 30s"
// or "500ms"; "infinity" is 0, which TimeoutStopSec= reads as no timeout.
func ParseTimespan(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "infinity" {
		return 0, nil
	}
	if v == "" {
		return 0, fmt.Errorf("empty time span")
	}
	var total time.Duration
	for rest := v; rest != ""; rest = strings.TrimLeftFunc(rest, unicode.IsSpace) {
		i := strings.IndexFunc(rest, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
		if i == 0 {
			return 0, fmt.Errorf("time span %q: want a number before %q", v, rest)
		}
		if i < 0 {
			i = len(rest)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("time span %q: %w", v, err)
		}
		rest = strings.TrimLeftFunc(rest[i:], unicode.IsSpace)
		j := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r >= '0' && r <= '9' })
		if j < 0 {
			j = len(rest)
		}
		unit := time.Second
		if j > 0 {
			u, ok := timespanUnits[rest[:j]]
			if !ok {
				return 0, fmt.Errorf("time span %q: unknown unit %q", v, rest[:j])
			}
			unit = u
		}
		total += time.Duration(n * float64(unit))
		rest = rest[j:]
	}
	return total, nil
}
