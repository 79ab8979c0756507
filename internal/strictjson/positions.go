package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Positions maps the path of every value in data (a JSON document
// Object accepted) to the byte offset where the value starts, so a parser
// can report a rule broken by a value at its line and column (LineCol).
// Paths join object keys with '.' and index arrays with [i]: "handlers",
// "handlers.driver.timeout", "mirrors[1]"; a key that is empty or holds
// '.', '[', ']' or '"' is quoted in brackets, so a path has one meaning:
// `installed["Contoso.Toaster.Driver"].version`. The document itself is "".
// A document that does not tokenize gives the paths read before the
// error.
func Positions(data []byte) map[string]int64 {
	pos := map[string]int64{}
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(path string) error
	walk = func(path string) error {
		pos[path] = valueStart(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				child := JoinKey(path, key)
				if err := walk(child); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	_ = walk("") // a broken document keeps the paths read before the error
	return pos
}

// valueStart skips the white space and separators (':' and ',') that the
// decoder's offset may still stand before.
func valueStart(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

// JoinKey is the path of key inside the object at path (see Positions).
func JoinKey(path, key string) string {
	if key == "" || strings.ContainsAny(key, `.[]"`) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
