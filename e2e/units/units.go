// Package units holds the fleet unit files the sandbox submits: the
// volfailover global unit and the postgres@ template. They are plain files so
// that an operator can read them as the shape of the production units; the
// sandbox reads them through FS.
package units

import "embed"

// FS holds volfailover.service and postgres@.service.
//
//go:embed volfailover.service postgres@.service
var FS embed.FS

// Names of the unit files in FS.
const (
	Volfailover = "volfailover.service"
	Postgres    = "postgres@.service"
)
