package console

// Has reports whether the dictionary has key in lang.
func Has(lang, key string) bool {
	_, ok := dictionary[lang][key]
	return ok
}
