package api

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"reallabor/models"
)

// Text hygiene: every string a request carries is checked once, here, before
// anything is written or started. Control characters (NUL included) are
// refused everywhere; long texts, tagged `text:"multiline"`, may carry tab,
// line feed and carriage return. Text that is not UTF-8 is refused too: the
// database would reject it later, after the workflow had already acted.

// badText says what is wrong with s, or "" if nothing is.
func badText(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("must not contain control characters (found U+%04X)", r)
		}
	}
	return ""
}

// checkText walks a bound request and lists every string field that holds
// control characters, by its JSON path. replaced says the body was not valid
// UTF-8: the JSON decoder replaced what was not with U+FFFD, so a field that
// now holds U+FFFD is the one to name.
func checkText(v any, replaced bool) []models.FieldError {
	var out []models.FieldError
	walkText(reflect.ValueOf(v), "", false, replaced, &out)
	if replaced && len(out) == 0 {
		out = append(out, models.FieldError{Field: "(body)", Message: "is not valid UTF-8"})
	}
	return out
}

func walkText(v reflect.Value, path string, multiline, replaced bool, out *[]models.FieldError) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, multiline, replaced, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			p := path
			if !f.Anonymous || name != "" {
				if name == "" {
					name = f.Name
				}
				p = joinPath(path, name)
			}
			walkText(v.Field(i), p, f.Tag.Get("text") == "multiline", replaced, out)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkText(v.Index(i), fmt.Sprintf("%s[%d]", path, i), multiline, replaced, out)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				if msg := textProblem(k.String(), false, replaced); msg != "" {
					*out = append(*out, models.FieldError{Field: path, Message: "key " + msg})
					continue
				}
				walkText(iter.Value(), joinPath(path, k.String()), multiline, replaced, out)
			}
		}
	case reflect.String:
		if msg := textProblem(v.String(), multiline, replaced); msg != "" {
			*out = append(*out, models.FieldError{Field: path, Message: msg})
		}
	}
}

func textProblem(s string, multiline, replaced bool) string {
	if replaced && strings.ContainsRune(s, utf8.RuneError) {
		return "is not valid UTF-8"
	}
	return badText(s, multiline)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// cleanParams refuses path parameters and query values that hold control
// characters or are not UTF-8 (400: the address itself is malformed), before
// any handler reads them.
func cleanParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if i < len(c.ParamValues()) {
				if msg := badText(c.ParamValues()[i], false); msg != "" {
					return problem(http.StatusBadRequest, "path parameter "+name+" "+msg)
				}
			}
		}
		for name, values := range c.QueryParams() {
			if msg := badText(name, false); msg != "" {
				return problem(http.StatusBadRequest, "a query parameter name "+msg)
			}
			for _, v := range values {
				if msg := badText(v, false); msg != "" {
					return problem(http.StatusBadRequest, "query parameter "+name+" "+msg)
				}
			}
		}
		return next(c)
	}
}
