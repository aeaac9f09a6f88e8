package ec2sim

// describeSpec is what sets one describe action's request apart from the others';
// the rest (IDs, filters, paging, DryRun) they parse alike.
type describeSpec struct {
	action, set string // names used in paging errors: "DescribeVolumes", "volumeSet"
	idKey       string // "VolumeId" or "InstanceId"
	maxIDs      int    // explicit IDs allowed; 0 means no limit
	validID     func(string) bool
	malformed   func(string) *apiError
	filters     map[string]bool
	extraBools  []string // action-specific boolean parameters
}

// describeRequest is a parsed, valid describe request that is not a DryRun.
type describeRequest struct {
	ids     []string
	filters []filter
	page    page
	bools   map[string]bool
}

// describe checks a describe request in the order EC2 reports errors: unknown
// parameters, booleans, ID count and syntax, filter names, paging; then answers a
// DryRun (as an error, as EC2 does) so callers only see real requests.
func (p *params) describe(sp describeSpec) (describeRequest, *apiError) {
	p.scalars = map[string]bool{"MaxResults": true, "NextToken": true, "DryRun": true, "IncludeManagedResources": true}
	for _, k := range sp.extraBools {
		p.scalars[k] = true
	}
	p.lists = map[string]bool{sp.idKey: true}
	p.filters = true
	if err := p.check(); err != nil {
		return describeRequest{}, err
	}
	dry, err := p.boolean("DryRun")
	if err != nil {
		return describeRequest{}, err
	}
	req := describeRequest{bools: map[string]bool{}}
	for _, k := range sp.extraBools {
		if req.bools[k], err = p.boolean(k); err != nil {
			return describeRequest{}, err
		}
	}
	req.ids = p.list(sp.idKey)
	if sp.maxIDs > 0 && len(req.ids) > sp.maxIDs {
		return describeRequest{}, badRequest("InvalidParameterValue", "Value (%d) for parameter instanceIds is invalid. Expecting at most %d instance IDs.", len(req.ids), sp.maxIDs)
	}
	for _, id := range req.ids {
		if !sp.validID(id) {
			return describeRequest{}, sp.malformed(id)
		}
	}
	if req.filters, err = p.filterList(); err != nil {
		return describeRequest{}, err
	}
	if err := checkFilterNames(req.filters, sp.filters); err != nil {
		return describeRequest{}, err
	}
	if req.page, err = p.pageParams(sp.action, sp.set, len(req.ids) > 0); err != nil {
		return describeRequest{}, err
	}
	if dry {
		return describeRequest{}, dryRunOK()
	}
	return req, nil
}
