package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// runSession keeps one etcd session: it registers the host, runs the witness,
// observes the election and campaigns. It returns when the session is lost or
// ctx is cancelled, after every goroutine it started has returned; on a clean
// shutdown the leadership is resigned and the lease revoked, so the registry
// entry and the witness reports disappear at once.
func (c *Controller) runSession(ctx context.Context) error {
	sess, err := c.newSession(ctx)
	if err != nil {
		return err
	}
	defer c.closeSession(ctx, sess)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sess.Done():
			c.log.Warn().Int64("lease", int64(sess.Lease())).Msg("etcd session lost")
			cancel()
		case <-sctx.Done():
		}
	}()

	c.setSession(true, sess)
	defer c.setSession(false, nil)
	if err := c.register(sctx, sess); err != nil {
		return err
	}
	c.mu.Lock()
	c.registered = true
	c.mu.Unlock()

	w := newWitness(c, sess)
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(sctx)
	}()

	wg.Add(1)
	go func() {
		defer wg.Done()
		c.followPrimaries(sctx)
	}()

	el := concurrency.NewElection(sess, c.keys.Election())
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.observeLeader(sctx, el)
	}()

	return c.campaign(ctx, sctx, sess, el)
}

// newSession grants the session's lease under ctx, bounded by one TTL: an
// unreachable etcd must neither hold up a SIGTERM nor keep the agent silent
// (Run logs each failed attempt, with the endpoints, and tries again with
// backoff). The session itself outlives ctx, so that a clean shutdown can
// still resign and revoke; its keepalive stops in closeSession.
func (c *Controller) newSession(ctx context.Context) (*concurrency.Session, error) {
	ttl := int(c.o.SessionTTL / time.Second)
	gctx, cancel := context.WithTimeout(ctx, c.o.SessionTTL)
	lease, err := c.cli.Grant(gctx, int64(ttl))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("waiting for etcd at %s: grant a session lease (ttl %ds): %w", strings.Join(c.cli.Endpoints(), ","), ttl, err)
	}
	sess, err := concurrency.NewSession(c.cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("new etcd session (ttl %ds): %w", ttl, err)
	}
	return sess, nil
}

// closeSession ends a session: on a clean shutdown it records the departure
// and revokes the lease, so the registration and witness reports vanish at
// once; a lost session or a closed client is left as it is.
func (c *Controller) closeSession(ctx context.Context, sess *concurrency.Session) {
	select {
	case <-sess.Done():
		// Lost: the lease is gone or unreachable, and the keepalive has ended.
		return
	default:
	}
	if c.cli.Ctx().Err() != nil {
		// The client was closed under us: nothing can be revoked.
		sess.Orphan()
		return
	}
	if ctx.Err() != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		c.depart(dctx, "clean shutdown")
		cancel()
	}
	if err := sess.Close(); err != nil {
		c.log.Debug().Err(err).Msg("close etcd session")
	}
}

func (c *Controller) setSession(ok bool, sess *concurrency.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.m.sessionUp.Set(1)
	} else {
		c.m.sessionUp.Set(0)
	}
	c.session = ok
	c.registered = false
	c.leaseID = 0
	if sess != nil {
		c.leaseID = sess.Lease()
	}
}

// campaign wins the election, leads until the leadership or the session ends,
// resigns, and campaigns again while the session lives.
func (c *Controller) campaign(ctx, sctx context.Context, sess *concurrency.Session, el *concurrency.Election) error {
	for {
		// Campaign does not notice its own session expiring; sctx is cancelled
		// when sess.Done() fires, which ends the wait.
		if err := el.Campaign(sctx, c.o.InstanceID); err != nil {
			return fmt.Errorf("campaign for leadership: %w", err)
		}
		c.lead(sctx, sess, el)

		if c.cli.Ctx().Err() == nil {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			err := el.Resign(rctx)
			rcancel()
			if err != nil {
				c.log.Debug().Err(err).Msg("resign leadership")
			}
		}
		if sctx.Err() != nil {
			return sctx.Err()
		}
		select {
		case <-sctx.Done():
			return sctx.Err()
		case <-c.clk.After(c.o.RoundInterval):
		}
	}
}

// lead runs the leader's work under a context that ends with the session, and
// returns only when all of it has stopped.
func (c *Controller) lead(sctx context.Context, sess *concurrency.Session, el *concurrency.Election) {
	lctx, cancel := context.WithCancel(sctx)
	defer cancel()
	log := c.log.With().Str("leader", c.o.InstanceID).Int64("leader_rev", el.Rev()).Logger()
	c.setLeader(true)
	log.Info().Msg("became leader")
	defer func() {
		c.setLeader(false)
		log.Info().Msg("leadership ended")
	}()
	l := newLeader(c, sess, el, cancel)
	l.run(lctx)
}

func (c *Controller) setLeader(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isLeader = v
	c.verdicts = nil
	c.views = nil
	if v {
		c.leaderID = c.o.InstanceID
		c.m.leader.Set(1)
	} else {
		c.m.leader.Set(0)
		c.m.clearLeaderView()
	}
}

// observeLeader follows the election so LeaderID is right on every instance.
func (c *Controller) observeLeader(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) == 0 {
			continue
		}
		id := string(resp.Kvs[0].Value)
		c.mu.Lock()
		prev := c.leaderID
		c.leaderID = id
		c.mu.Unlock()
		if prev != id {
			c.log.Info().Str("leader", id).Str("previous", prev).Msg("leader changed")
		}
	}
}

// errNotLeader means the guarded check found another leader (or none): the
// caller must stop acting at once.
var errNotLeader = errors.New("no longer the leader")
