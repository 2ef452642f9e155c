-- SMS send throttles, claimed with one conditional upsert each inside the send's transaction,
-- so concurrent requests cannot both pass a check-then-insert (issue 13).
--   bucket 'phone:<phone>'             one code per resend window per number (window_key unused)
--   bucket 'phone-ip:<phone>|<source>' codes to one number from one source per business day
--   bucket 'ip:<source>'               codes from one source (IPv4 address, IPv6 /64) per day
CREATE TABLE identity_sms_throttle (
  bucket text PRIMARY KEY,
  window_key text NOT NULL,
  sent integer NOT NULL,
  last_sent_at timestamptz NOT NULL
);

-- Numbers that were sent a code before this table existed keep their resend wait.
INSERT INTO identity_sms_throttle (bucket, window_key, sent, last_sent_at)
SELECT 'phone:' || phone, '', count(*), max(created_at) FROM identity_sms_codes GROUP BY phone;
