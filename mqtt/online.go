package mqtt

// PublishOnline publishes OnlinePayload, retained, on WillTopic again. The
// client does so after every (re)connect by itself; between connects only
// a republish can repair the topic when another client of the broker left
// something else there (on the embedded broker only the bridge may write
// it; an external broker may let anyone). A no-op without a will.
func (c *Client) PublishOnline() error {
	if c.opts.WillTopic == "" {
		return nil
	}
	return c.Publish(c.opts.WillTopic, []byte(c.opts.OnlinePayload), true)
}
