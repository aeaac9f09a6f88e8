package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath is the module whose binaries the sandbox builds.
const modulePath = "github.com/volfailover/volfailover"

// findModuleRoot walks up from dir to the directory whose go.mod declares
// the volfailover module.
func findModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if strings.TrimSpace(first) == "module "+modulePath {
				return d, nil
			}
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no go.mod of %s above %s: run from the source tree or pass the binaries", modulePath, dir)
		}
	}
}

// goTool finds the go command: PATH first, then the standard install.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	const std = "/usr/local/go/bin/go"
	if _, err := os.Stat(std); err == nil {
		return std, nil
	}
	return "", errors.New("go command not found in PATH or at /usr/local/go/bin/go")
}

// buildBinaries builds the named packages (relative to root) into outDir
// with one go build, and returns the binary paths in order.
func buildBinaries(ctx context.Context, root, outDir string, pkgs ...string) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", outDir, err)
	}
	gobin, err := goTool()
	if err != nil {
		return nil, fmt.Errorf("build %v: %w", pkgs, err)
	}
	args := append([]string{"build", "-o", outDir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %v in %s: %w\n%s", pkgs, root, err, out)
	}
	paths := make([]string, len(pkgs))
	for i, p := range pkgs {
		paths[i] = filepath.Join(outDir, filepath.Base(p))
	}
	return paths, nil
}
