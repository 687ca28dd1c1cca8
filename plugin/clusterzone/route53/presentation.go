package route53

import "strings"

// Route 53 lists names and TXT values in DNS presentation format: '*' and
// other characters as \DDD octal escapes ("\052.apps.example.org."), other
// escapes as a backslash before the character, TXT values as one or more
// quoted character-strings. decode is the one place that reads it.

// decode undoes \DDD and \c escapes in s.
func decode(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		if c == '\\' && i+1 < len(s) {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// unescapeName returns a name as Route 53 lists it, decoded and
// lower-cased.
func unescapeName(s string) string { return strings.ToLower(decode(s)) }

// txtText returns the text of a TXT value as Route 53 lists it: its
// character-strings decoded and joined ("a" "b" -> ab).
func txtText(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return decode(v)
	}
	var b strings.Builder
	start := -1
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && start >= 0:
			i++ // an escaped character, possibly a quote
		case v[i] == '"' && start < 0:
			start = i + 1
		case v[i] == '"':
			b.WriteString(decode(v[start:i]))
			start = -1
		}
	}
	return b.String()
}

// quoteTXT is the value of a TXT record holding text, one character-string
// (ownership values never need escaping: they hold no quote or backslash).
func quoteTXT(text string) string { return `"` + text + `"` }
