package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// Subject is one system under test of a scenario, with the role the
// scenario declares for it. The role is declared here and nowhere else: a
// run may override it (racestress --control, --clean), and every trial's
// spec and record carries the role it ran with.
type Subject struct {
	Name string
	// Role is the declared role: a control has the bug and must be caught,
	// a clean subject must never show a forbidden outcome.
	Role result.Role
	// Doc is a one-line description.
	Doc string
	// Signature lists the outcomes that show a control's bug. Only these
	// count as detections: a control that fails in another way has not
	// been caught.
	Signature []result.Outcome
	// Crashes reports that the subject's failure kills or hangs its
	// process, so that it can only run in a child process.
	Crashes bool
	// Needs, when set, names a knob the subject's bug needs to show
	// ("reentrant"): without it a control cannot be caught.
	Needs string
	// New builds a fresh instance. Its type is the scenario's: a
	// RegistryFunc for the finalizer-registry scenarios.
	New any
}

// RegistryFunc builds a fresh finalizer registry with the options a
// scenario passes (its observer and chaos hook).
type RegistryFunc func(opts ...finalizer.Option) finalizer.Registry

// RegistrySubject declares a finalizer registry as a subject of the
// registry scenarios (ThreadSafety, FinalizeOrder): the way to stress your
// own registry.
func RegistrySubject(name string, role result.Role, doc string, newRegistry RegistryFunc, signature ...result.Outcome) Subject {
	return Subject{Name: name, Role: role, Doc: doc, New: newRegistry, Signature: signature}
}

// registryFunc returns s's constructor as a RegistryFunc.
func registryFunc(s Subject) (RegistryFunc, bool) {
	switch f := s.New.(type) {
	case RegistryFunc:
		return f, f != nil
	case func(...finalizer.Option) finalizer.Registry:
		return f, f != nil
	}
	return nil, false
}

// IsSignature reports whether o is one of s's signature outcomes.
func (s Subject) IsSignature(o result.Outcome) bool { return slices.Contains(s.Signature, o) }

// WithRole returns s with role r.
func (s Subject) WithRole(r result.Role) Subject {
	s.Role = r
	return s
}

// SignatureText names s's signature outcomes, "changed-size" or "fatal or
// data-race"; "-" when it has none.
func (s Subject) SignatureText() string {
	if len(s.Signature) == 0 {
		return "-"
	}
	names := make([]string, len(s.Signature))
	for i, o := range s.Signature {
		names[i] = string(o)
	}
	return strings.Join(names, " or ")
}

// Subject returns the subject of sc called name.
func (sc *Scenario) Subject(name string) (Subject, error) {
	for _, s := range sc.Subjects {
		if s.Name == name {
			return s, nil
		}
	}
	return Subject{}, fmt.Errorf("scenario %s has no subject %q (have %s)", sc.Name, name, strings.Join(sc.SubjectNames(), ", "))
}

// SubjectNames returns the names of sc's subjects in declaration order.
func (sc *Scenario) SubjectNames() []string {
	names := make([]string, len(sc.Subjects))
	for i, s := range sc.Subjects {
		names[i] = s.Name
	}
	return names
}

// DefaultSubjects returns the subjects a run of sc stresses unless told
// otherwise.
func (sc *Scenario) DefaultSubjects() []Subject {
	var out []Subject
	for _, name := range sc.Defaults {
		if s, err := sc.Subject(name); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// registries builds the subjects of the registry scenarios from the
// finalizer package's variants with the roles and signatures of scenario.
func registries(roles map[string]Subject) []Subject {
	var out []Subject
	for _, v := range finalizer.Variants() {
		s, ok := roles[v.Name]
		if !ok {
			continue
		}
		s.Name, s.New = v.Name, RegistryFunc(v.New)
		if s.Doc == "" {
			s.Doc = v.Doc
		}
		out = append(out, s)
	}
	return out
}
