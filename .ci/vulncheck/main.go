// Command vulncheck runs govulncheck where vuln.go.dev cannot be reached,
// and judges its findings against the list of those accepted.
//
//	go run ./.ci/vulncheck db <osv directory> <database directory>
//
// lays the OSV entries of the golang.org/x/vulndb module (its data/osv
// directory, fetched through the Go module proxy) out as a Go vulnerability
// database that govulncheck reads with -db file://...: index/db.json,
// index/modules.json and ID/<id>.json. The module index names no fixed
// version, so govulncheck reads every entry of a module it finds and judges
// the affected ranges itself.
//
//	govulncheck -format json ./... | go run ./.ci/vulncheck judge <accepted>
//
// fails on every vulnerability the code calls that the accepted file (one
// id per line, then why) does not list, and names the accepted ones no
// longer found (to be taken off the list).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string `json:"path"`
	Vulns []vuln `json:"vulns"`
}

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "db":
		err = db(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "judge":
		err = judge(os.Args[2], os.Stdin, os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, "usage: vulncheck db <osv directory> <database directory> | vulncheck judge <accepted file> < govulncheck.json")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
}

// judge reads govulncheck's JSON stream and fails on the called
// vulnerabilities not accepted.
func judge(acceptedFile string, in io.Reader, out io.Writer) error {
	accepted, err := readAccepted(acceptedFile)
	if err != nil {
		return err
	}
	type finding struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Function string `json:"function"`
		} `json:"trace"`
	}
	called := map[string]string{} // id: module@version, fixed in
	dec := json.NewDecoder(in)
	for {
		var msg struct {
			Finding *finding `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("govulncheck output: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue // imported or required only: the code does not reach it
		}
		fixed := f.FixedVersion
		if fixed == "" {
			fixed = "no fix"
		}
		called[f.OSV] = fmt.Sprintf("%s@%s (fixed in %s)", f.Trace[0].Module, f.Trace[0].Version, fixed)
	}
	ids := make([]string, 0, len(called))
	for id := range called {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var refused []string
	for _, id := range ids {
		if why, ok := accepted[id]; ok {
			fmt.Fprintf(out, "accepted  %s %s: %s\n", id, called[id], why)
			continue
		}
		refused = append(refused, id)
		fmt.Fprintf(out, "FOUND     %s %s\n", id, called[id])
	}
	for id := range accepted {
		if _, ok := called[id]; !ok {
			fmt.Fprintf(out, "gone      %s: no longer found, take it off the accepted list\n", id)
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("%d vulnerabilities the code calls are not accepted: upgrade, or list them with the reason in %s", len(refused), acceptedFile)
	}
	return nil
}

// readAccepted reads "ID reason" lines; # starts a comment.
func readAccepted(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, why, _ := strings.Cut(line, " ")
		if strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s: %s has no reason", path, id)
		}
		out[id] = strings.TrimSpace(why)
	}
	return out, sc.Err()
}

// db writes the database.
func db(src, dst string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OSV entries in %s", src)
	}
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			return err
		}
	}
	modules := map[string]*module{}
	var latest time.Time
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if e.ID == "" {
			return fmt.Errorf("%s: no id", f)
		}
		if err := os.WriteFile(filepath.Join(dst, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return err
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := modules[p]
			if m == nil {
				m = &module{Path: p}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, vuln{ID: e.ID, Modified: e.Modified})
		}
	}
	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		index = append(index, m)
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Path < index[j].Path })
	if err := write(filepath.Join(dst, "index", "modules.json"), index); err != nil {
		return err
	}
	return write(filepath.Join(dst, "index", "db.json"), map[string]time.Time{"modified": latest})
}

func write(path string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}
