package signer_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
)

// TestSigningPolicyRefusals: each certificate defect is refused before
// anything is signed, with its own sentinel and rule.
func TestSigningPolicyRefusals(t *testing.T) {
	ctx := context.Background()
	other, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name  string
		opts  []devpki.Option
		edit  func(p *devpki.PKI) (key crypto.Signer, chain []*x509.Certificate, roots *x509.CertPool)
		want  error
		rule  signer.Rule
		extra []signer.Option
	}{
		{name: "non-EV", opts: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) { c.Policies = nil })}, want: signer.ErrNotEV, rule: signer.RuleEV},
		{name: "expired", opts: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)
		})}, want: signer.ErrExpired, rule: signer.RuleValidity},
		{name: "not yet valid", opts: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = now.AddDate(0, 1, 0), now.AddDate(1, 0, 0)
		})}, want: signer.ErrNotYetValid, rule: signer.RuleValidity},
		{name: "no code-signing EKU", opts: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		})}, want: signer.ErrNotCodeSigning, rule: signer.RuleCodeSigningEKU},
		{name: "no digitalSignature", opts: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageKeyEncipherment
		})}, want: signer.ErrNoDigitalSignature, rule: signer.RuleDigitalSignature},
		{name: "RSA-2048", opts: []devpki.Option{devpki.WithRSA(2048)}, want: signer.ErrWeakKey, rule: signer.RuleKeyStrength},
		{name: "wrong key", edit: func(p *devpki.PKI) (crypto.Signer, []*x509.Certificate, *x509.CertPool) {
			return other.LeafKey, p.Chain(), p.Roots()
		}, want: signer.ErrKeyMismatch, rule: signer.RuleKeyMatch},
		{name: "broken chain: intermediate of another CA", edit: func(p *devpki.PKI) (crypto.Signer, []*x509.Certificate, *x509.CertPool) {
			return p.LeafKey, []*x509.Certificate{p.Leaf, other.Intermediate}, p.Roots()
		}, want: signer.ErrUntrustedChain, rule: signer.RuleChain},
		{name: "broken chain: other roots", edit: func(p *devpki.PKI) (crypto.Signer, []*x509.Certificate, *x509.CertPool) {
			return p.LeafKey, p.Chain(), other.Roots()
		}, want: signer.ErrUntrustedChain, rule: signer.RuleChain},
		{name: "broken chain: no intermediate", edit: func(p *devpki.PKI) (crypto.Signer, []*x509.Certificate, *x509.CertPool) {
			return p.LeafKey, []*x509.Certificate{p.Leaf}, p.Roots()
		}, want: signer.ErrUntrustedChain, rule: signer.RuleChain},
	}
	all := []error{signer.ErrNotEV, signer.ErrExpired, signer.ErrNotYetValid, signer.ErrNotCodeSigning, signer.ErrNoDigitalSignature, signer.ErrWeakKey, signer.ErrKeyMismatch, signer.ErrUntrustedChain}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := devpki.New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			key, chain, roots := p.LeafKey, p.Chain(), p.Roots()
			if tt.edit != nil {
				key, chain, roots = tt.edit(p)
			}
			_, err = signer.New(ctx, key, chain, signer.Policy{Roots: roots}, tt.extra...)
			assertRefusal(t, err, tt.want, tt.rule, all)
		})
	}
}

func assertRefusal(t *testing.T, err, want error, rule signer.Rule, all []error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var pe *signer.PolicyError
	if !errors.As(err, &pe) || pe.Rule != rule {
		t.Fatalf("err = %#v, want a *PolicyError with rule %s", err, rule)
	}
	if !errors.Is(err, signer.ErrPolicy) {
		t.Errorf("err does not wrap ErrPolicy")
	}
	for _, other := range all {
		if other != want && errors.Is(err, other) {
			t.Errorf("err %v also matches %v", err, other)
		}
	}
}

func TestUnsafeAllowNonEV(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, devpki.WithLeafEdit(func(c *x509.Certificate) { c.Policies = nil }))
	s, err := signer.New(ctx, f.pki.LeafKey, f.pki.Chain(), f.policy, signer.WithUnsafeAllowNonEV())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.cab")
	res, err := s.SignFile(ctx, gcabCab(t), out)
	if err != nil {
		t.Fatal(err)
	}
	if res.EV {
		t.Error("non-EV signature reported as EV")
	}
	if _, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), UnsafeAllowNonEV: true}); err != nil {
		t.Errorf("verify with UnsafeAllowNonEV: %v", err)
	}
	// The policy's default requires EV on verification, as on signing.
	_, err = signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots()})
	assertRefusal(t, err, signer.ErrNotEV, signer.RuleEV, nil)
}

// TestVerifyPolicy: verification applies the same rules, at the timestamp's
// time when there is one, else at the policy's time.
func TestVerifyPolicy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "out.cab")
	if _, err := f.signer(t).SignFile(ctx, gcabCab(t), out); err != nil {
		t.Fatal(err)
	}
	other, _ := devpki.New()
	all := []error{signer.ErrExpired, signer.ErrNotYetValid, signer.ErrUntrustedChain}
	t.Run("expired, no timestamp", func(t *testing.T) {
		_, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), CurrentTime: time.Now().AddDate(2, 0, 0)})
		assertRefusal(t, err, signer.ErrExpired, signer.RuleValidity, all)
	})
	t.Run("not yet valid", func(t *testing.T) {
		_, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), CurrentTime: time.Now().AddDate(0, 0, -2)})
		assertRefusal(t, err, signer.ErrNotYetValid, signer.RuleValidity, all)
	})
	t.Run("other roots", func(t *testing.T) {
		_, err := signer.Verify(ctx, out, signer.Policy{Roots: other.Roots()})
		assertRefusal(t, err, signer.ErrUntrustedChain, signer.RuleChain, all)
	})
	t.Run("subject", func(t *testing.T) {
		if _, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), RequireSubject: "devupdate TEST-ONLY Code Signing"}); err != nil {
			t.Errorf("matching CN refused: %v", err)
		}
		_, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), RequireSubject: "Contoso Ltd"})
		if !errors.Is(err, signer.ErrSubjectMismatch) {
			t.Errorf("err = %v, want ErrSubjectMismatch", err)
		}
	})
}
