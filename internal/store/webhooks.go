package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// Webhook is a subscriber: a URL and the event kinds it wants ("*": all
// that notify). Secret signs its deliveries.
type Webhook struct {
	ID        string     `gorm:"primaryKey" json:"id"`
	URL       string     `json:"url"`
	Events    string     `json:"-"`
	Secret    string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt *time.Time `json:"-"`
}

// Kinds are the event kinds it wants.
func (w Webhook) Kinds() []string { return strings.Split(w.Events, ",") }

func (w Webhook) wants(kind string) bool {
	return slices.Contains(w.Kinds(), "*") || slices.Contains(w.Kinds(), kind)
}

// WebhookDelivery is one event for one webhook, and how its sending went.
type WebhookDelivery struct {
	ID            string     `gorm:"primaryKey" json:"id"`
	WebhookID     string     `json:"webhook_id"`
	ApplicationID string     `json:"application_id"`
	EventSeq      int64      `json:"event_seq"`
	Kind          string     `json:"kind"`
	Payload       string     `json:"-"`
	Status        string     `json:"status"` // pending, delivered, failed
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// CreateWebhook files a subscriber.
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook) error {
	if err := s.DB.WithContext(ctx).Create(w).Error; err != nil {
		return fmt.Errorf("create webhook: %w", classifyDB(err))
	}
	return nil
}

// Webhooks lists the active subscribers.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	if err := s.DB.WithContext(ctx).Where("deleted_at IS NULL").Order("created_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// Webhook returns one active subscriber.
func (s *Store) Webhook(ctx context.Context, id string) (Webhook, error) {
	var w Webhook
	if err := s.DB.WithContext(ctx).First(&w, "id = ? AND deleted_at IS NULL", id).Error; err != nil {
		return w, fmt.Errorf("webhook %s: %w", id, translate(err))
	}
	return w, nil
}

// DeleteWebhook ends a subscription (its deliveries stay in the log).
func (s *Store) DeleteWebhook(ctx context.Context, id string, at time.Time) error {
	res := s.DB.WithContext(ctx).Model(&Webhook{}).Where("id = ? AND deleted_at IS NULL", id).Update("deleted_at", at.UTC())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("webhook %s: %w", id, models.ErrNotFound)
	}
	return nil
}

// Deliveries is a webhook's delivery log, newest first.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	if err := s.DB.WithContext(ctx).Where("webhook_id = ?", webhookID).Order("created_at DESC, id DESC").Limit(limit).
		Find(&out).Error; err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return out, nil
}

// webhookEvent is what a delivery carries: the event, not the people.
type webhookEvent struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// fileDeliveries writes a delivery per subscribed event (keyed: a repeated
// write files none twice) and returns those still pending for these events.
func fileDeliveries(tx *gorm.DB, st models.ApplicationState, events []models.Event) ([]string, error) {
	var hooks []Webhook
	if err := tx.Where("deleted_at IS NULL").Find(&hooks).Error; err != nil {
		return nil, err
	}
	if len(hooks) == 0 {
		return nil, nil
	}
	for _, e := range events {
		if _, ok := handOffs[e.Kind]; !ok {
			continue
		}
		payload, err := json.Marshal(webhookEvent{Type: "application." + e.Kind, Timestamp: e.At, Data: map[string]any{
			"application_id": st.ID, "programme_id": st.ProgrammeID, "title": st.Proposal.Title, "status": st.Status,
			"event_seq": e.Seq, "actor_role": e.Actor.Role}})
		if err != nil {
			return nil, err
		}
		for _, h := range hooks {
			if !h.wants(e.Kind) {
				continue
			}
			d := WebhookDelivery{ID: "msg_" + eventKey(st.ID, e.Seq, h.ID), WebhookID: h.ID, ApplicationID: st.ID,
				EventSeq: e.Seq, Kind: e.Kind, Payload: string(payload), Status: "pending", CreatedAt: e.At}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&d).Error; err != nil {
				return nil, fmt.Errorf("webhook delivery: %w", err)
			}
		}
	}
	return undelivered(tx, st.ID, events)
}

// undelivered lists the deliveries filed for events that are still
// pending.
func undelivered(tx *gorm.DB, appID string, events []models.Event) ([]string, error) {
	seqs := handOffSeqs(events)
	if len(seqs) == 0 {
		return nil, nil
	}
	var ids []string
	err := tx.Model(&WebhookDelivery{}).Where("application_id = ? AND event_seq IN ? AND status = 'pending'", appID, seqs).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// PendingDeliveries loads deliveries still to send, with their webhooks.
func (s *Store) PendingDeliveries(ctx context.Context, ids []string) ([]WebhookDelivery, map[string]Webhook, error) {
	var ds []WebhookDelivery
	if err := s.DB.WithContext(ctx).Where("id IN ? AND status = 'pending'", ids).Order("id").Find(&ds).Error; err != nil {
		return nil, nil, err
	}
	hooks := map[string]Webhook{}
	for _, d := range ds {
		if _, ok := hooks[d.WebhookID]; ok {
			continue
		}
		var w Webhook
		if err := s.DB.WithContext(ctx).First(&w, "id = ?", d.WebhookID).Error; err != nil {
			return nil, nil, err
		}
		hooks[d.WebhookID] = w
	}
	return ds, hooks, nil
}

// RecordAttempt logs one attempt of a delivery; status is delivered,
// pending (to retry) or failed (the last try).
func (s *Store) RecordAttempt(ctx context.Context, id, status string, code int, why string, at time.Time) error {
	upd := map[string]any{"status": status, "attempts": gorm.Expr("attempts + 1"), "last_status": code, "last_error": why}
	if status == "delivered" {
		upd["delivered_at"] = at.UTC()
	}
	return s.DB.WithContext(ctx).Model(&WebhookDelivery{}).Where("id = ? AND status = 'pending'", id).Updates(upd).Error
}
