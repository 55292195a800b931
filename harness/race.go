package harness

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// ModulePath is racestress's module path.
const ModulePath = "github.com/racestress/racestress"

// RaceEnv is the environment of race-detector workers: stop at the first
// report, and do not sleep at exit.
var RaceEnv = []string{"GORACE=halt_on_error=1 atexit_sleep_ms=0"}

// RaceWorker returns a race-enabled racestress binary to run workers with.
// When this binary was itself built with -race it is the answer; otherwise
// the binary is built once from the module source found at or above dir
// (go build -race) and cached under cacheDir, keyed by a hash of the source.
// It fails with a clear error when there is no source, no Go toolchain or
// no C compiler.
func RaceWorker(ctx context.Context, dir, cacheDir string) (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return os.Executable()
			}
		}
	}
	root, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("--race needs a Go toolchain on PATH to build a race-enabled worker: %v", err)
	}
	cc, err := exec.CommandContext(ctx, gobin, "env", "CC").Output()
	if err != nil {
		return "", fmt.Errorf("--race: go env CC: %v", err)
	}
	if _, err := exec.LookPath(strings.TrimSpace(string(cc))); err != nil {
		return "", fmt.Errorf("--race needs a C compiler (%s) for the race detector: %v", strings.TrimSpace(string(cc)), err)
	}
	sum, err := sourceHash(root)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cacheDir, "race-"+sum, "racestress")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, gobin, "build", "-race", "-o", tmp, "./cmd/racestress")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("--race: go build -race failed: %v: %s", err, firstLines(string(out), 3))
	}
	return bin, os.Rename(tmp, bin)
}

// moduleRoot finds the directory at or above dir whose go.mod declares
// racestress's module.
func moduleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(d, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			sc.Scan()
			f.Close()
			if strings.TrimSpace(sc.Text()) == "module "+ModulePath {
				return d, nil
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("--race needs the racestress source to build a race-enabled worker: no go.mod for %s at or above %s", ModulePath, dir)
		}
		d = parent
	}
}

func sourceHash(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "racestress-out") {
				return filepath.SkipDir
			}
			return nil
		}
		if !(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) && name != "go.mod" && name != "go.sum" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
