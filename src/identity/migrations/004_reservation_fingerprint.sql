-- What a reservation was made for (the payment's target, card...), chosen by the caller: a
-- retry under the same id reuses the reservation only when it names the same payment, so a
-- duplicate with different fields never shares (and so can never release) the original's.
ALTER TABLE identity_limit_reservations ADD COLUMN fingerprint text;
