"""The console's words in English and Vietnamese: ``say(lang, key, **values)``.

Scripts never hold words: a screen renders the messages its script shows into ``data-``
attributes, in the page's language."""

from __future__ import annotations

__all__ = ["WORDS", "say"]

WORDS: dict[str, tuple[str, str]] = {
    "app": ("Tracemark console", "Bảng điều khiển Tracemark"),
    "skip": ("Skip to content", "Bỏ qua đến nội dung"),
    "nav": ("Console sections", "Các mục"),
    "signout": ("Sign out", "Đăng xuất"),
    "lang.other": ("Tiếng Việt", "English"),
    "role.operator": ("Operator", "Nhà vận hành"),
    "role.producer": ("Producer", "Nhà sản xuất"),
    "role.seller": ("Seller", "Người bán"),
    "role.platform": ("Platform", "Nền tảng"),
    "role.certifier": ("Certifier", "Tổ chức chứng nhận"),
    "home.title": ("Welcome", "Xin chào"),
    "home.pending": (
        "The operator has not approved your account yet. Create your signing key; the "
        "operator approves it and registers you in the ledger.",
        "Nhà vận hành chưa duyệt tài khoản của bạn. Hãy tạo khóa ký; nhà vận hành sẽ duyệt "
        "và đăng ký bạn vào sổ cái.",
    ),
    "home.active": ("Signed in as {name} ({role}).", "Đã đăng nhập: {name} ({role})."),
    # sign-in
    "signin.title": ("Sign in", "Đăng nhập"),
    "signin.passkey": ("Sign in with a passkey", "Đăng nhập bằng passkey"),
    "signin.or": (
        "Or with a password and an authenticator code",
        "Hoặc bằng mật khẩu và mã xác thực",
    ),
    "field.name": ("Account name", "Tên tài khoản"),
    "field.password": ("Password", "Mật khẩu"),
    "field.password_new": ("New password (12 characters or more)", "Mật khẩu mới (từ 12 ký tự)"),
    "field.code": ("6-digit authenticator code", "Mã xác thực 6 chữ số"),
    "signin.submit": ("Sign in", "Đăng nhập"),
    "signin.failed": ("Sign-in failed.", "Đăng nhập không thành công."),
    # invite
    "invite.title": ("Accept your invitation", "Nhận lời mời"),
    "invite.for": ("Invitation for {name} as {role}.", "Lời mời cho {name} với vai trò {role}."),
    "invite.passkey": ("Create a passkey (recommended)", "Tạo passkey (khuyên dùng)"),
    "invite.passkey_help": (
        "Your device keeps the passkey; you sign in with your fingerprint, face or PIN.",
        "Thiết bị của bạn giữ passkey; bạn đăng nhập bằng vân tay, khuôn mặt hoặc mã PIN.",
    ),
    "invite.password": (
        "Or use a password and an authenticator app",
        "Hoặc dùng mật khẩu và ứng dụng xác thực",
    ),
    "invite.totp_help": (
        "Scan this code with an authenticator app, then type the code it shows.",
        "Quét mã này bằng ứng dụng xác thực, rồi nhập mã hiển thị.",
    ),
    "invite.secret": ("Or type this key:", "Hoặc nhập khóa này:"),
    "invite.create": ("Create account", "Tạo tài khoản"),
    "invite.gone": ("This invitation cannot be used", "Không dùng được lời mời này"),
    # keys
    "key.title": ("Your signing key", "Khóa ký của bạn"),
    "key.explain": (
        "Your browser makes your signing key and keeps it; Tracemark never sees it. Choose a "
        "backup passphrase: the encrypted backup is the only way to move the key to another "
        "device or recover it.",
        "Trình duyệt của bạn tạo và giữ khóa ký; Tracemark không bao giờ thấy khóa này. Hãy "
        "chọn cụm mật khẩu sao lưu: bản sao lưu mã hóa là cách duy nhất để chuyển khóa sang "
        "thiết bị khác hoặc khôi phục khóa.",
    ),
    "key.none": ("This browser holds no signing key.", "Trình duyệt này chưa có khóa ký."),
    "key.have": ("This browser holds the key {key_id}.", "Trình duyệt này đang giữ khóa {key_id}."),
    "key.passphrase": (
        "Backup passphrase (12 characters or more)",
        "Cụm mật khẩu sao lưu (từ 12 ký tự)",
    ),
    "key.create": ("Create my key and its backup", "Tạo khóa và bản sao lưu"),
    "key.created": (
        "Key created and sent to the operator for approval. Download the backup and keep it safe.",
        "Đã tạo khóa và gửi cho nhà vận hành duyệt. Hãy tải bản sao lưu và cất giữ cẩn thận.",
    ),
    "key.download": ("Download the encrypted backup", "Tải bản sao lưu đã mã hóa"),
    "key.restore": ("Restore from a backup", "Khôi phục từ bản sao lưu"),
    "key.backup_file": ("Backup file", "Tệp sao lưu"),
    "key.restore_submit": ("Restore the key", "Khôi phục khóa"),
    "key.restored": (
        "Key {key_id} restored into this browser.",
        "Đã khôi phục khóa {key_id} vào trình duyệt này.",
    ),
    "key.bad_backup": (
        "The backup or the passphrase is wrong.",
        "Bản sao lưu hoặc cụm mật khẩu không đúng.",
    ),
    "key.pending": ("Waiting for approval: {key}", "Đang chờ duyệt: {key}"),
    "key.lost": (
        "Lost a device? Ask the operator to revoke its key, then create a new key here.",
        "Mất thiết bị? Hãy nhờ nhà vận hành thu hồi khóa của thiết bị đó, rồi tạo khóa mới ở đây.",
    ),
    "key.registered": ("Keys in the ledger", "Các khóa trong sổ cái"),
    # producer keys (in-page signing)
    "pkeys.title": ("Keys of your other devices", "Khóa của các thiết bị khác"),
    "pkeys.explain": (
        "Add the public key another of your devices made. This browser signs a key.add "
        "entry with your key; the ledger checks that signature.",
        "Thêm khóa công khai mà một thiết bị khác của bạn đã tạo. Trình duyệt này ký một "
        "mục key.add bằng khóa của bạn; sổ cái kiểm tra chữ ký đó.",
    ),
    "pkeys.field": (
        "Public key of the other device (ed25519:…)",
        "Khóa công khai của thiết bị kia (ed25519:…)",
    ),
    "pkeys.review": ("Review what you sign", "Xem lại nội dung sẽ ký"),
    "pkeys.sign": ("Sign and submit", "Ký và gửi"),
    "pkeys.done": (
        "Recorded in the ledger at index {index}.",
        "Đã ghi vào sổ cái ở vị trí {index}.",
    ),
    "sign.summary": ("You are about to sign:", "Bạn sắp ký:"),
    "sign.nokey": (
        "This browser holds no signing key: restore your backup first.",
        "Trình duyệt này chưa có khóa ký: hãy khôi phục bản sao lưu trước.",
    ),
    # operator
    "op.accounts": ("Actors and accounts", "Tác nhân và tài khoản"),
    "op.invites": ("Invite", "Mời"),
    "op.health": ("Log health", "Tình trạng sổ cái"),
    "op.audit": ("Audit trail", "Nhật ký thao tác"),
    "op.none": ("No accounts yet.", "Chưa có tài khoản nào."),
    "op.approve": ("Approve and register in the ledger", "Duyệt và đăng ký vào sổ cái"),
    "op.add_key": ("Register the new key", "Đăng ký khóa mới"),
    "op.country": ("Country (ISO code)", "Quốc gia (mã ISO)"),
    "op.prefixes": (
        "GS1 company prefixes (comma separated)",
        "Mã doanh nghiệp GS1 (cách nhau bởi dấu phẩy)",
    ),
    "op.display": ("Name in the ledger", "Tên trong sổ cái"),
    "op.identity": ("Record an identity check", "Ghi nhận kiểm tra danh tính"),
    "op.level": ("Level", "Mức"),
    "op.note": ("Note", "Ghi chú"),
    "op.save": ("Save", "Lưu"),
    "op.revoke": ("Revoke", "Thu hồi"),
    "op.reason": ("Reason", "Lý do"),
    "op.compromised": (
        "Compromised since (UTC, optional: codes signed from then on are refused)",
        "Bị lộ từ (UTC, không bắt buộc: mã ký từ lúc đó bị từ chối)",
    ),
    "op.status": ("Status", "Trạng thái"),
    "op.key_pending": ("Key waiting", "Khóa đang chờ"),
    "op.keys": ("Keys", "Khóa"),
    "op.role": ("Role", "Vai trò"),
    "op.actor": ("Actor id", "Mã tác nhân"),
    "op.handle": ("Platform handle (optional)", "Tài khoản nền tảng (không bắt buộc)"),
    "op.name": ("Name", "Tên"),
    "op.invite_submit": ("Create invitation link", "Tạo liên kết mời"),
    "op.invite_made": (
        "Send this one-time link to the person:",
        "Gửi liên kết dùng một lần này cho người được mời:",
    ),
    "op.size": ("Entries in the log", "Số mục trong sổ cái"),
    "op.checkpoint": ("Last checkpoint", "Điểm kiểm tra gần nhất"),
    "op.witnesses": ("Witnesses who cosigned it", "Nhân chứng đã đồng ký"),
    "op.no_witness": ("none configured or none yet", "chưa cấu hình hoặc chưa có"),
    "op.no_checkpoint": ("none yet", "chưa có"),
    "op.when": ("When", "Khi nào"),
    "op.who": ("Who", "Ai"),
    "op.what": ("What", "Việc gì"),
    "op.target": ("On", "Đối tượng"),
    "op.outcome": ("Outcome", "Kết quả"),
    "done": ("Done.", "Xong."),
    "failed": ("Refused: {message}", "Bị từ chối: {message}"),
    "working": ("Working…", "Đang xử lý…"),
}


from api.http.console.attest_words import ATTEST_WORDS  # noqa: E402 - attestation screens
from api.http.console.producer_words import PRODUCER_WORDS  # noqa: E402 - the producer's screens

WORDS.update(ATTEST_WORDS)
WORDS.update(PRODUCER_WORDS)


def say(lang: str, key: str, /, **values: object) -> str:
    en, vi = WORDS[key]
    chosen = vi if lang == "vi" else en
    return chosen.format(**values) if values else chosen


def _join() -> None:
    from api.http.console.seller_words import SELLER_WORDS  # noqa: PLC0415

    WORDS.update(SELLER_WORDS)


_join()
