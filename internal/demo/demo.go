// Package demo creates the demo programme and one user per role that `dev`
// starts with (and the console's browser test signs in as).
package demo

import (
	"context"
	"errors"
	"strings"
	"time"

	"reallabor/api"
	"reallabor/internal/store"
	"reallabor/models"
)

// User is one demo user with its token (shown once: stored only hashed).
type User struct {
	ID, Name, Organisation, Token string
	Role                          models.Role
}

// Data is what Seed made.
type Data struct {
	ProgrammeID string
	Users       []User
}

// ErrNotEmpty says the database has programmes: the demo is for an empty one.
var ErrNotEmpty = errors.New("programmes exist already")

// BudgetCents is the demo programme's budget.
const BudgetCents = 500_000_00

// people are the demo users: an admin, two applicants of different
// companies (the second a partner to invite), three board members of three
// companies, two finance officers (four eyes).
var people = []struct {
	role      models.Role
	name, org string
}{
	{models.RoleAdmin, "Ada Admin", "Stadt Musterstadt"},
	{models.RoleApplicant, "Anna Applicant", "Cafe Mitte"},
	{models.RoleApplicant, "Bernd Buchladen", "Buchladen Eck"},
	{models.RoleReviewer, "Rita Reviewer", "Stadtwerke"},
	{models.RoleReviewer, "Rolf Reviewer", "Buchhandlung Nord"},
	{models.RoleReviewer, "Rosa Reviewer", "IHK"},
	{models.RoleFinance, "Fritz Finance", "Stadtkasse"},
	{models.RoleFinance, "Frieda Finance", "Stadtkasse"},
}

// Seed creates the demo programme (the default rules, a budget of
// 500,000.00 EUR) and the demo users, each with a demo e-mail address so the
// outbox shows every hand-off's mail. Only into a database without
// programmes (ErrNotEmpty otherwise): never a second demo.
func Seed(ctx context.Context, st *store.Store, now time.Time) (Data, error) {
	var d Data
	if existing, err := st.Programmes(ctx); err != nil {
		return d, err
	} else if len(existing) > 0 {
		return d, ErrNotEmpty
	}
	rules := models.DefaultRules()
	rules.BudgetCents = BudgetCents
	prog, err := api.NewProgramme(ctx, st, "", "Digitale Innenstadt (demo)", rules, models.Payee{
		Name: "Stadt Musterstadt Wirtschaftsfoerderung", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}, now)
	if err != nil {
		return d, err
	}
	d.ProgrammeID = prog.ID
	for _, p := range people {
		usr, token, err := api.NewUser(ctx, st, "", p.name, p.role, "", p.org, now)
		if err != nil {
			return d, err
		}
		usr.Email = strings.ToLower(strings.Fields(p.name)[0]) + "@demo.reallabor.test"
		if err := st.SaveUser(ctx, &usr); err != nil {
			return d, err
		}
		d.Users = append(d.Users, User{ID: usr.ID, Name: p.name, Organisation: p.org, Token: token, Role: p.role})
	}
	return d, nil
}

// Named is the demo user of that name.
func (d Data) Named(name string) (User, bool) {
	for _, u := range d.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}
