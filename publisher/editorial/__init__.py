"""The editorial desk: writing articles, the three reviews with their comments and previews,
the sign-off that starts the fan-out, withdrawal, a platform's authorisation, and the API over
them. It sits above the fan-out (`publisher.fanout`) and the publishing tasks
(`publisher.tasks`), which it starts; both sit above the publisher's models and rules."""
