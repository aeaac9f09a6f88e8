package awsops

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TagVolume sets tags on a volume (existing keys are overwritten), e.g. the
// failover epoch for audit. Tags the volume already has with the same value
// are not written again; if all are there, no CreateTags call is made.
// CreateTags is itself idempotent, and describes may lag it, so there is no
// read-back.
func (c *Client) TagVolume(ctx context.Context, volumeID string, tags map[string]string) error {
	what := fmt.Sprintf("tag %s", volumeID)
	if len(tags) == 0 {
		return fmt.Errorf("%s: no tags given: %w", what, ErrInvalidParameter)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return fmt.Errorf("%s: tag %q=%q: key must be 1-128 characters and value at most 256: %w", what, k, v, ErrInvalidParameter)
		}
	}
	vol, err := c.volume(ctx, volumeID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var missing []types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if cur, ok := vol.Tags[k]; !ok || cur != tags[k] {
			missing = append(missing, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Identical taggings asked at about the same time share one CreateTags.
	if err := c.tagVia(ctx, volumeID, missing); err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	c.log.Info().Str("volume", volumeID).Int("tags", len(missing)).Msg("volume tagged")
	return nil
}
