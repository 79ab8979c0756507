// Package redact keeps credentials out of error messages and logs. A URL
// can carry them in its user information (https://user:password@host) and
// in its query (an Azure SAS token's sig=, a timestamp authority's API key):
// URL hides both, and Error hides every URL in an error's text, whatever
// produced it (net/http's *url.Error quotes the whole request URL). It
// knows nothing of who gave the URL or what the query means, except for
// the store URL parameters that are never secret.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces every secret.
const Mask = "REDACTED"

// public are query parameters whose values are never secret and help a
// reader: the store URL's own parameters (cdn/stores). An endpoint's value
// is a URL, redacted in turn.
var public = map[string]bool{"endpoint": true, "create-container": true}

// URL returns raw with its user information and the values of its query
// parameters replaced by Mask and its fragment dropped. Text that does not
// parse as a URL loses everything from the first '?' and any "user@" or
// "user:password@" after its "://".
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return scrubUnparsed(raw)
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery {
		return raw // nothing to hide: as given
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, v, _ := strings.Cut(p, "=")
			if public[k] {
				if dv, err := url.QueryUnescape(v); err == nil {
					parts[i] = k + "=" + url.QueryEscape(URL(dv))
					continue
				}
			}
			if k == "" && v == "" {
				continue
			}
			parts[i] = k + "=" + Mask
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

func scrubUnparsed(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i] + "?" + Mask
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.ContainsAny(rest[:at], "/") {
			raw = raw[:i+3] + Mask + rest[at:]
		}
	}
	return raw
}

// urlInText finds URLs in a message: a scheme, "://", and everything up
// to a space or quote.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// Text returns s with every URL in it redacted by URL.
func Text(s string) string {
	return urlInText.ReplaceAllStringFunc(s, URL)
}

// Error returns err with every URL in its message redacted: an error whose
// Error() is Text(err.Error()) and which unwraps to err, so errors.Is and
// errors.As still see the whole tree. The URL of every *url.Error in the
// tree is redacted in place too, so printing any part of it is safe. nil
// stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	walk(err, func(e error) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = URL(ue.URL)
		}
	})
	msg := Text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// walk calls fn for every error in err's tree.
func walk(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, fn)
		}
	}
}
