package fleetsim

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
)

// The updates of the default timeline.
const (
	SettingsName = "Contoso.Fleet.Settings"
	DriverName   = "Contoso.Fleet.Driver"
)

// Change is one step of the release engineer's timeline, made through the
// flight library.
type Change struct {
	// Action is add, promote, rollout, pause, resume or halt.
	Action catalog.Action
	// Name and Version name the update.
	Name, Version string
	// Ring is where the change is made (promote: the ring promoted to).
	Ring string
	// Percent is the rollout of add, promote and rollout.
	Percent int
	// Products are the indices of the products an added update targets
	// (nil: every product).
	Products []int
}

func (c Change) String() string {
	nv := c.Name + " " + c.Version
	switch c.Action {
	case catalog.ActionAdd:
		s := fmt.Sprintf("add %s to %s at %d %%", nv, c.Ring, c.Percent)
		if c.Products != nil {
			s += fmt.Sprintf(" (products %v only)", c.Products)
		}
		return s
	case catalog.ActionPromote:
		return fmt.Sprintf("promote %s to %s at %d %%", nv, c.Ring, c.Percent)
	case catalog.ActionRollout:
		return fmt.Sprintf("%s in %s at %d %%", nv, c.Ring, c.Percent)
	}
	return fmt.Sprintf("%s %s in %s", c.Action, nv, c.Ring)
}

// DefaultTimeline is the story the simulation plays: an update goes
// through Preview, EarlyAdopter (10, 50, 100 %) and GeneralAvailability
// (10, 50 %, paused, raised to 100 % while paused, resumed); a driver for
// one product only stays in Preview; a bad version is halted in
// EarlyAdopter at 10 % and rolled forward with a fixed one that reaches
// every ring.
func DefaultTimeline() []Change {
	const pv, ea, ga = "Preview", "EarlyAdopter", "GeneralAvailability"
	s := func(a catalog.Action, v, ring string, pct int) Change {
		return Change{Action: a, Name: SettingsName, Version: v, Ring: ring, Percent: pct}
	}
	return []Change{
		s(catalog.ActionAdd, "1.0.0.1", pv, 100),
		{Action: catalog.ActionAdd, Name: DriverName, Version: "2.0.0.1", Ring: pv, Percent: 100, Products: []int{1}},
		s(catalog.ActionPromote, "1.0.0.1", ea, 10),
		s(catalog.ActionRollout, "1.0.0.1", ea, 50),
		s(catalog.ActionRollout, "1.0.0.1", ea, 100),
		s(catalog.ActionPromote, "1.0.0.1", ga, 10),
		s(catalog.ActionRollout, "1.0.0.1", ga, 50),
		s(catalog.ActionPause, "1.0.0.1", ga, 0),
		s(catalog.ActionRollout, "1.0.0.1", ga, 100),
		s(catalog.ActionResume, "1.0.0.1", ga, 0),
		s(catalog.ActionAdd, "1.0.0.2", pv, 100),
		s(catalog.ActionPromote, "1.0.0.2", ea, 10),
		s(catalog.ActionHalt, "1.0.0.2", ea, 0),
		s(catalog.ActionAdd, "1.0.0.3", pv, 100),
		s(catalog.ActionPromote, "1.0.0.3", ea, 100),
		s(catalog.ActionPromote, "1.0.0.3", ga, 100),
	}
}

// entryState is an update's rollout in one repository, as the release
// engineer set it.
type entryState struct {
	state   catalog.State
	percent int
}

// repoState is one published state of a repository: what the timeline
// made it hold, when it was published (before the change began) and when
// the CDN was seen serving it (zero until then).
type repoState struct {
	published, visible time.Time
	entries            map[string]entryState // by "name version"
}

type repoKey struct {
	ring    string
	product int
}

// model is the timeline's own account of every repository's states: what
// the release engineer asked for, kept apart from the metadata devices
// read, so that what devices installed is checked against it.
type model struct {
	mu       sync.Mutex
	repos    map[repoKey][]*repoState
	products int
	// targets are the products of each update name.
	targets map[string][]int
}

func newModel(rings []string, products int, start time.Time) *model {
	m := &model{repos: map[repoKey][]*repoState{}, products: products, targets: map[string][]int{}}
	for _, r := range rings {
		for p := range products {
			m.repos[repoKey{r, p}] = []*repoState{{published: start, visible: start, entries: map[string]entryState{}}}
		}
	}
	return m
}

func nv(name, version string) string { return name + " " + version }

// apply records change c, published at t, and returns the repositories it
// changes. Which products a promotion or a state change reaches is the
// products the update was added for.
func (m *model) apply(c Change, t time.Time) ([]repoKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := nv(c.Name, c.Version)
	if c.Action == catalog.ActionAdd {
		ps := c.Products
		if ps == nil {
			for p := range m.products {
				ps = append(ps, p)
			}
		}
		m.targets[c.Name] = ps
	}
	if m.targets[c.Name] == nil {
		return nil, fmt.Errorf("%s: never added", c)
	}
	var changed []repoKey
	for _, p := range m.targets[c.Name] {
		rk := repoKey{c.Ring, p}
		states := m.repos[rk]
		if states == nil {
			return nil, fmt.Errorf("%s: no ring %s", c, c.Ring)
		}
		last := states[len(states)-1]
		e, ok := last.entries[key]
		switch c.Action {
		case catalog.ActionAdd, catalog.ActionPromote:
			e = entryState{state: catalog.Active, percent: c.Percent}
		case catalog.ActionRollout:
			e.percent = c.Percent
		case catalog.ActionPause:
			e.state = catalog.Paused
		case catalog.ActionResume:
			e.state = catalog.Active
		case catalog.ActionHalt:
			e.state = catalog.Halted
		default:
			return nil, fmt.Errorf("%s: unknown action", c)
		}
		if !ok && c.Action != catalog.ActionAdd && c.Action != catalog.ActionPromote {
			return nil, fmt.Errorf("%s: not in the ring", c)
		}
		next := &repoState{published: t, entries: map[string]entryState{}}
		for k, v := range last.entries {
			next.entries[k] = v
		}
		next.entries[key] = e
		m.repos[rk] = append(states, next)
		changed = append(changed, rk)
	}
	return changed, nil
}

// visible records that the CDN serves the newest state of rk from t on.
func (m *model) visible(rk repoKey, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	states := m.repos[rk]
	states[len(states)-1].visible = t
}

// seen returns the states of rk a device may have read in a scan that ran
// from start to end: published by its end, and not replaced by a newer
// state the CDN was already serving when it began.
func (m *model) seen(rk repoKey, start, end time.Time) []*repoState {
	m.mu.Lock()
	defer m.mu.Unlock()
	states := m.repos[rk]
	var out []*repoState
	for i, s := range states {
		if s.published.After(end) {
			break
		}
		if i+1 < len(states) && !states[i+1].visible.IsZero() && !states[i+1].visible.After(start) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// targeted reports whether update name was added for product p.
func (m *model) targeted(name string, p int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.targets[name], p)
}
