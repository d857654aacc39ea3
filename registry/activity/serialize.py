"""JSON of posts and evidence."""
from registry.models import Post
from registry.serialize import iso

from .models import Evidence


def post_json(post: Post) -> dict:
    return {"id": post.id, "account_id": post.account_id,
            "published_at": iso(post.published_at), "title": post.title, "url": post.url,
            "origin": post.origin, "platform_post_id": post.platform_post_id,
            "source": post.source}


def evidence_json(evidence: Evidence) -> dict:
    return {"id": evidence.id, "account_id": evidence.account_id, "unit_id": evidence.unit_id,
            "post_id": evidence.post_id, "published_at": iso(evidence.published_at),
            "title": evidence.title, "url": evidence.url, "status": evidence.status,
            "screenshot_url": f"/api/v1/evidence/{evidence.id}/screenshot",
            "screenshot_type": evidence.screenshot_type,
            "created_by_id": evidence.created_by_id, "created_at": iso(evidence.created_at),
            "rejected_by_id": evidence.rejected_by_id,
            "rejected_at": iso(evidence.rejected_at), "reject_reason": evidence.reject_reason}
