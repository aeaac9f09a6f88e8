package state

// FencePolicy says how the owner of a volume is fenced before its volume is
// moved. It is stored in each journal record, so a new leader finishes a move
// under the policy it was started with.
type FencePolicy string

const (
	// FenceStopThenDetach issues StopInstances(Force) and force-detaches at once;
	// the completed detach is the storage fence, the stop is confirmed in the
	// background and paged if it does not come in time. The default.
	FenceStopThenDetach FencePolicy = "stop-then-detach"
	// FenceStrict waits until the owner is stopped before detaching: slower by the
	// instance's stop time, but no zombie can serve reads meanwhile.
	FenceStrict FencePolicy = "strict"
)
