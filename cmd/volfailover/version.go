package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version and revision are set at build time (make build, make release):
//
//	-ldflags "-X main.version=v1.4.0 -X main.revision=$(git rev-parse HEAD)"
//
// An operator upgrading a fleet host by host must be able to tell which
// binary each host runs; buildVersion fills what the linker was not told
// from the module's build information.
var (
	version  = "dev"
	revision = ""
)

// buildInfo is what a binary knows about its own build.
type buildInfo struct {
	Version   string
	Revision  string
	GoVersion string
}

// currentBuild is this binary's build: the linker's values first, then what
// `go build` recorded (a tagged module version, the VCS revision with
// "-dirty" for uncommitted changes), else "dev" and "unknown".
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b = fromBuildInfo(b, bi)
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

// fromBuildInfo completes b from bi without overriding what the linker set.
func fromBuildInfo(b buildInfo, bi *debug.BuildInfo) buildInfo {
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Revision == "" {
		var rev string
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
		b.Revision = rev
	}
	return b
}

// String is the --version line.
func (b buildInfo) String() string {
	return fmt.Sprintf("volfailover %s (revision %s, %s)", b.Version, b.Revision, b.GoVersion)
}

// registerBuildInfo exports volfailover_build_info{version,revision,goversion} = 1,
// so a dashboard shows which hosts a rolling upgrade has reached, and a
// rollback is visible as the label going back.
func registerBuildInfo(reg prometheus.Registerer, b buildInfo) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "volfailover",
		Name:      "build_info",
		Help:      "The running binary's version, VCS revision and Go version; always 1.",
	}, []string{"version", "revision", "goversion"})
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register volfailover_build_info: %w", err)
	}
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return nil
}
