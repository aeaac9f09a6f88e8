package ec2sim

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// actionNames are the emulated actions.
var actionNames = []string{
	"AttachVolume", "CreateTags", "DescribeInstanceStatus", "DescribeInstances",
	"DescribeVolumes", "DetachVolume", "ModifyInstanceAttribute", "StopInstances",
}

// call is the state of one EC2 request while it is served.
type call struct {
	action    string
	p         *params
	now       time.Time
	attempt   int
	dryRun    bool
	requestID string
	userAgent string
	// invocationID is the SDK's amz-sdk-invocation-id, stable across retries.
	invocationID string
	resources    []string
	fired        []*armedFault
	ops          []*pendingOp
	// applied is when dispatch ran; zero if it never did.
	applied time.Time
}

// response is a rendered answer.
type response struct {
	status int
	body   []byte
	code   string
	header map[string]string
}

// ServeHTTP serves the EC2 endpoint at "/" and the test surface at "/_sim/".
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	s.serveEC2(w, r)
}

var attemptRe = regexp.MustCompile(`(?:^|;)\s*attempt=([0-9]+)`)

// parseAttempt reads N from "attempt=N; max=M"; 0 if absent.
func parseAttempt(h string) int {
	m := attemptRe.FindStringSubmatch(h)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ec2sim: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// resourceIDs lists the IDs a request names, for fault matching.
func resourceIDs(form url.Values) []string {
	var ids []string
	for k, vs := range form {
		base := k
		if m := indexedRe.FindStringSubmatch(k); m != nil {
			base = m[1]
		}
		switch base {
		case "VolumeId", "InstanceId", "ResourceId":
			ids = append(ids, vs...)
		}
	}
	return ids
}

func (s *Sim) serveEC2(w http.ResponseWriter, r *http.Request) {
	c := &call{now: s.clock.Now().UTC(), requestID: newRequestID(), attempt: parseAttempt(r.Header.Get("Amz-Sdk-Request")), userAgent: r.UserAgent(),
		invocationID: r.Header.Get("Amz-Sdk-Invocation-Id")}
	if r.Method != http.MethodPost {
		s.finish(w, c, errorResponse(c, &apiError{status: http.StatusMethodNotAllowed, code: "UnsupportedHttpVerb",
			message: "The HTTP verb " + r.Method + " is not supported; use POST"}))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.finish(w, c, errorResponse(c, badRequest("MalformedQueryString", "The request body could not be parsed: %v", err)))
		return
	}
	form := r.PostForm
	c.p = &params{form: form}
	c.action = form.Get("Action")
	c.dryRun = form.Get("DryRun") == "true"
	c.resources = resourceIDs(form)
	switch {
	case c.action == "":
		s.finish(w, c, errorResponse(c, badRequest("MissingAction", "The request must contain the parameter Action")))
		return
	case !isAction(c.action):
		s.finish(w, c, errorResponse(c, badRequest("InvalidAction", "The action %s is not valid for this web service.", c.action)))
		return
	}

	s.mu.Lock()
	c.fired = s.matchFaults(c)
	s.mu.Unlock()

	if !s.waitFaults(w, r, c) {
		return
	}
	s.mu.Lock()
	ok := s.takeTokens(c)
	s.mu.Unlock()
	if !ok {
		s.finish(w, c, throttledResponse(c))
		return
	}
	if res, ok := s.earlyFault(c); ok {
		s.finish(w, c, res)
		return
	}

	s.mu.Lock()
	c.applied = s.clock.Now().UTC()
	res := s.dispatch(c)
	if res.status == http.StatusOK {
		if _, ok := s.take(c, FaultApplyThenFail, ""); ok {
			res = errorResponse(c, &apiError{status: http.StatusServiceUnavailable, code: "Unavailable",
				message: "The server is overloaded and cannot handle the request."})
		} else if _, ok := s.take(c, FaultBadXML, ""); ok {
			res.body = res.body[:len(res.body)/2]
		}
	}
	s.mu.Unlock()
	s.startTimers(c.ops)
	if !s.delayResponse(r, c) {
		return
	}
	s.finish(w, c, res)
}

// delayResponse holds the answer back for a latency fault. The request has
// already been applied, zero-delay transitions included: EC2 carries out a
// request it has received whether or not the client waits for the answer
// (EC2 developer guide "Ensuring idempotency in Amazon EC2 API requests": a
// request that timed out may still have succeeded, so a blind retry can
// complete the operation twice), so a latency fault delays the response,
// not the application. It returns false when the client went away first; the
// call is journaled with Status 0 and Code "latency", applied all the same.
func (s *Sim) delayResponse(r *http.Request, c *call) bool {
	for _, af := range c.fired {
		if af.f.Kind != FaultLatency {
			continue
		}
		s.mu.Lock()
		s.applyNow(c.ops)
		s.mu.Unlock()
		c.ops = nil
		t := s.clock.NewTimer(af.f.Latency)
		select {
		case <-t.C():
		case <-r.Context().Done():
			t.Stop()
			s.record(c, 0, string(FaultLatency))
			return false
		case <-s.done:
			t.Stop()
		}
	}
	return true
}

func isAction(a string) bool {
	for _, n := range actionNames {
		if n == a {
			return true
		}
	}
	return false
}

// waitFaults applies hang and connection-reset faults, which model a
// request lost on the way: EC2 never sees it, so nothing is applied. It
// returns false when the request got no answer. Latency is delayResponse's.
func (s *Sim) waitFaults(w http.ResponseWriter, r *http.Request, c *call) bool {
	for _, af := range c.fired {
		switch af.f.Kind {
		case FaultHang:
			s.record(c, 0, string(FaultHang))
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			// Abort without an answer; net/http closes the connection.
			panic(http.ErrAbortHandler)
		case FaultConnReset:
			s.record(c, 0, string(FaultConnReset))
			resetConn(w)
			return false
		}
	}
	return true
}

// resetConn hijacks the connection and closes it with a TCP reset.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // best effort: RST instead of FIN
	}
	_ = conn.Close()
}

// earlyFault answers request faults that replace the call's result.
func (s *Sim) earlyFault(c *call) (response, bool) {
	for _, af := range c.fired {
		switch af.f.Kind {
		case FaultUnauthorized:
			return errorResponse(c, &apiError{status: http.StatusForbidden, code: "UnauthorizedOperation",
				message: "You are not authorized to perform this operation."}), true
		case FaultThrottle:
			res := errorResponse(c, &apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded", message: "Request limit exceeded."})
			if af.f.RetryAfter > 0 {
				res.header = map[string]string{"X-Amz-Retry-After": strconv.FormatInt(af.f.RetryAfter.Milliseconds(), 10)}
			}
			return res, true
		case FaultInternalError:
			return errorResponse(c, &apiError{status: http.StatusInternalServerError, code: "InternalError",
				message: "An internal error has occurred."}), true
		case FaultUnavailable:
			return errorResponse(c, &apiError{status: http.StatusServiceUnavailable, code: "Unavailable",
				message: "The server is overloaded and cannot handle the request."}), true
		case FaultEmpty500:
			return response{status: http.StatusInternalServerError, code: string(FaultEmpty500)}, true
		}
	}
	return response{}, false
}

// dispatch runs the action; s.mu is held.
func (s *Sim) dispatch(c *call) response {
	var body []byte
	var err *apiError
	switch c.action {
	case "DescribeVolumes":
		body, err = s.describeVolumes(c)
	case "AttachVolume":
		body, err = s.attachVolume(c)
	case "DetachVolume":
		body, err = s.detachVolume(c)
	case "DescribeInstances":
		body, err = s.describeInstances(c)
	case "DescribeInstanceStatus":
		body, err = s.describeInstanceStatus(c)
	case "StopInstances":
		body, err = s.stopInstances(c)
	case "CreateTags":
		body, err = s.createTags(c)
	case "ModifyInstanceAttribute":
		body, err = s.modifyInstanceAttribute(c)
	}
	if err != nil {
		return errorResponse(c, err)
	}
	return response{status: http.StatusOK, body: body}
}

// dryRunOK is the answer to a permitted DryRun.
func dryRunOK() *apiError {
	return &apiError{status: http.StatusPreconditionFailed, code: "DryRunOperation",
		message: "Request would have succeeded, but DryRun flag is set."}
}

func errorResponse(c *call, e *apiError) response {
	return response{status: e.status, code: e.code, body: errorBody(e.code, e.message, c.requestID)}
}

// finish applies zero-delay transitions, records the call and writes the
// answer, in that order: the response was rendered before the transitions,
// and the client sees neither the answer nor a later call before both are done.
func (s *Sim) finish(w http.ResponseWriter, c *call, res response) {
	s.mu.Lock()
	s.applyNow(c.ops)
	s.mu.Unlock()
	s.record(c, res.status, res.code)
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("X-Amzn-Requestid", c.requestID)
	h.Set("Date", c.now.Format(http.TimeFormat))
	h.Set("Server", "AmazonEC2")
	for k, v := range res.header {
		h.Set(k, v)
	}
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body) // a client that went away is not our error
}

// record appends the call to the journal.
func (s *Sim) record(c *call, status int, code string) {
	var form url.Values
	if c.p != nil {
		form = cloneValues(c.p.form)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = append(s.journal, Call{
		Time: c.now, Applied: c.applied, Action: c.action, Params: form, Attempt: c.attempt, Status: status,
		Code: code, RequestID: c.requestID, DryRun: c.dryRun, UserAgent: c.userAgent, InvocationID: c.invocationID,
	})
}
