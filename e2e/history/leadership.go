package history

// leadership judges invariant 4: every controller mutation arrives during
// one of its sender's leaderships, widened by WatchLag at the start and by
// NetworkAllowance, no more, at the end.
func (c *checker) leadership() {
	for _, r := range c.w.requests {
		if r.Sender == "" || !r.Mutating {
			continue
		}
		c.judged(NoMutationAfterLeadership)
		var last *Span
		ok := false
		for i := range c.w.h.Leaders {
			s := &c.w.h.Leaders[i]
			if s.Instance != r.Sender || s.From.Add(-c.o.WatchLag).After(r.Arrived) {
				continue
			}
			if s.To.IsZero() || !r.Arrived.After(s.To.Add(c.o.NetworkAllowance)) {
				ok = true
				break
			}
			if last == nil || s.To.After(last.To) {
				last = s
			}
		}
		if ok {
			continue
		}
		vol := r.Params.Get("VolumeId")
		if last != nil {
			c.violate(NoMutationAfterLeadership, r.Arrived, c.excerpt(r.Arrived, vol),
				"%s sent %s %s after its leadership ended at %s (allowance %s)",
				c.w.name(r.Sender), r.Action, r.Arrived.Sub(last.To).Round(1e6), stamp(last.To), c.o.NetworkAllowance)
			continue
		}
		c.violate(NoMutationAfterLeadership, r.Arrived, c.excerpt(r.Arrived, vol),
			"%s sent %s at %s without having led before it", c.w.name(r.Sender), r.Action, stamp(r.Arrived))
	}
}
