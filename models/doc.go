// Package models holds the domain of Reallabor grants: programme rules,
// applications, money, statuses, sentinel errors and the pure rules
// (eligibility, scoring, tranches, settlement). It does no I/O and imports no
// other package of this module.
package models
