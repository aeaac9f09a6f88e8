package fleetsim

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
)

// pageToken is fleet's page token: little-endian uint16 limit then uint16
// page (first page 1), URL-safe base64 with padding.
type pageToken struct {
	Limit uint16
	Page  uint16
}

func (t pageToken) encode() string {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, t)
	return base64.URLEncoding.EncodeToString(buf.Bytes())
}

// pageFromQuery returns the requested page, page 1 when no token is given,
// or the error fleet answers with 400.
func pageFromQuery(q url.Values, limit uint16) (pageToken, error) {
	values := q["nextPageToken"]
	if len(values) > 1 {
		return pageToken{}, errors.New("too many values for page token")
	}
	if len(values) == 0 {
		return pageToken{Limit: limit, Page: 1}, nil
	}
	raw, err := base64.URLEncoding.DecodeString(values[0])
	if err != nil {
		return pageToken{}, err
	}
	var t pageToken
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, &t); err != nil {
		return pageToken{}, err
	}
	if t.Limit != limit {
		return pageToken{}, fmt.Errorf("token limit must be %d", limit)
	}
	if t.Page == 0 {
		return pageToken{}, errors.New("token page must be greater than zero")
	}
	return t, nil
}

// cutPage slices one page out of a full listing. As in fleet a next token
// is returned whenever the page end is within the listing, so an exact
// multiple of the limit ends with an empty page.
func cutPage[T any](all []T, t pageToken) ([]T, string) {
	start := int(t.Page-1) * int(t.Limit)
	stop := int(t.Page) * int(t.Limit)
	if start >= len(all) {
		return nil, ""
	}
	next := ""
	if stop > len(all) {
		stop = len(all)
	} else {
		next = pageToken{Limit: t.Limit, Page: t.Page + 1}.encode()
	}
	return all[start:stop], next
}
