package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Positions maps the path of every value in data (a JSON document
// Object accepted) to the byte offset where the value starts, so a parser
// can report a rule broken by a value at its line and column (LineCol).
// Paths join object keys with '.' and index arrays with [i]: "handlers",
// "handlers.driver.timeout", "mirrors[1]"; the document itself is "".
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
				child := key
				if path != "" {
					child = path + "." + key
				}
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
