package cabinet

import (
	"encoding/json"
	"testing"
)

// Attributes are reported by name, never as a number; bits the format does
// not define still show, by value.
func TestAttributesJSON(t *testing.T) {
	for _, tt := range []struct {
		a    Attributes
		want string
	}{
		{0, `[]`},
		{attrArchive, `["archive"]`},
		{attrReadOnly | attrArchive, `["readonly","archive"]`},
		{attrHidden | attrSystem | attrExec | attrNameIsUTF, `["hidden","system","exec","name_is_utf"]`},
		{attrArchive | 0x0100 | 0x8000, `["archive","0x0100","0x8000"]`},
	} {
		got, err := json.Marshal(tt.a)
		if err != nil || string(got) != tt.want {
			t.Errorf("%#04x: %s, %v; want %s", uint16(tt.a), got, err, tt.want)
		}
	}
}
