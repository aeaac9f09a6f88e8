package ec2sim

import (
	"encoding/base64"
	"strings"
)

// Pagination tokens carry the action and the last ID returned, so a page
// resumes after that ID even if items were added or removed meanwhile.

func encodeToken(action, lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ec2sim/v1/" + action + "/" + lastID))
}

func decodeToken(action, tok string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	prefix := "ec2sim/v1/" + action + "/"
	s := string(raw)
	if !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
		return "", false
	}
	return strings.TrimPrefix(s, prefix), true
}

// paginate cuts a sorted ID list into one page and returns the next token.
func paginate(ids []string, pg page, action string) ([]string, string) {
	start := 0
	if pg.after != "" {
		start = len(ids)
		for i, id := range ids {
			if id > pg.after {
				start = i
				break
			}
		}
	}
	ids = ids[start:]
	if pg.max == 0 || len(ids) <= pg.max {
		return ids, ""
	}
	return ids[:pg.max], encodeToken(action, ids[pg.max-1])
}
