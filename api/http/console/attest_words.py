"""The attestation screens' words in English and Vietnamese (api/http/console/attest.py),
merged into ``words.WORDS`` so the shell's navigation and role names find them too."""

from __future__ import annotations

__all__ = ["ATTEST_WORDS"]

ATTEST_WORDS: dict[str, tuple[str, str]] = {
    "role.identity_verifier": ("Identity verifier", "Tổ chức xác minh danh tính"),
    "at.quals": ("Product documents", "Giấy tờ sản phẩm"),
    "at.ids": ("Seller identities", "Danh tính người bán"),
    "at.compliance": ("Compliance", "Tuân thủ"),
    "at.quals_explain": (
        "Upload a certificate or test report, then sign an attestation that it belongs to a "
        "GTIN (or one of its lots) and how long it is valid. Your signing key stays in this "
        "browser; the document is stored by its SHA-256, which the attestation names.",
        "Tải lên giấy chứng nhận hoặc phiếu kiểm nghiệm, rồi ký xác nhận rằng giấy tờ đó thuộc "
        "về một mã GTIN (hoặc một lô) và thời hạn hiệu lực. Khóa ký của bạn chỉ nằm trong trình "
        "duyệt này; tài liệu được lưu theo mã SHA-256 mà bản xác nhận ghi lại.",
    ),
    "at.ids_explain": (
        "After checking a seller's identity, sign an attestation with only a salted "
        "commitment: the record and the salt never leave this browser except in the file "
        "you keep.",
        "Sau khi kiểm tra danh tính người bán, hãy ký bản xác nhận chỉ chứa cam kết có muối: "
        "hồ sơ và muối không rời trình duyệt này, trừ trong tệp bạn lưu giữ.",
    ),
    "at.document": (
        "Document (PDF, PNG, JPEG, WebP or text)",
        "Tài liệu (PDF, PNG, JPEG, WebP, văn bản)",
    ),
    "at.gtin": ("GTIN (14 digits)", "Mã GTIN (14 chữ số)"),
    "at.lot": ("Lot (optional: the whole GTIN when empty)", "Số lô (để trống: cả mã GTIN)"),
    "at.kind": ("Kind", "Loại giấy tờ"),
    "at.title": ("Title (optional)", "Tiêu đề (không bắt buộc)"),
    "at.valid_from": ("Valid from", "Hiệu lực từ"),
    "at.valid_until": ("Valid until", "Hiệu lực đến"),
    "at.review": ("Upload and review", "Tải lên và xem lại"),
    "at.review_id": ("Review", "Xem lại"),
    "at.sign": ("Sign and record", "Ký và ghi vào sổ cái"),
    "at.summary": (
        "This is exactly what your key signs:",
        "Đây chính xác là nội dung khóa của bạn sẽ ký:",
    ),
    "at.recorded": (
        "Recorded in the ledger at index {index}.",
        "Đã ghi vào sổ cái, vị trí {index}.",
    ),
    "at.uploaded": ("Document stored: {sha256}", "Đã lưu tài liệu: {sha256}"),
    "at.nokey": (
        "This browser has no signing key: create or restore it on Your signing key.",
        "Trình duyệt này chưa có khóa ký: hãy tạo hoặc khôi phục ở mục Khóa ký của bạn.",
    ),
    "at.subject": ("Seller (actor id)", "Người bán (mã tác nhân)"),
    "at.level": ("Assurance level", "Mức độ bảo đảm"),
    "at.rec_name": ("Full name (kept in your file only)", "Họ tên (chỉ lưu trong tệp của bạn)"),
    "at.rec_id": (
        "ID document number (kept in your file only)",
        "Số giấy tờ tùy thân (chỉ lưu trong tệp của bạn)",
    ),
    "at.rec_dob": (
        "Date of birth (kept in your file only)",
        "Ngày sinh (chỉ lưu trong tệp của bạn)",
    ),
    "at.keep": ("Download the record and salt to keep", "Tải hồ sơ và muối về để lưu giữ"),
    "at.mine": ("Your attestations", "Các xác nhận của bạn"),
    "at.none": ("None yet.", "Chưa có."),
    "at.revoke": ("Revoke", "Thu hồi"),
    "at.revoke_review": ("Review the revocation", "Xem lại việc thu hồi"),
    "at.reason": ("Reason (optional)", "Lý do (không bắt buộc)"),
    "at.col.what": ("What", "Nội dung"),
    "at.col.subject": ("For", "Cho"),
    "at.col.valid": ("Valid", "Hiệu lực"),
    "at.col.status": ("Status now", "Trạng thái"),
    "at.status.valid": ("valid", "còn hiệu lực"),
    "at.status.expired": ("expired", "hết hạn"),
    "at.status.revoked": ("revoked", "đã thu hồi"),
    "at.status.not_yet_valid": ("not yet valid", "chưa có hiệu lực"),
    "at.kind.identity": ("Identity", "Danh tính"),
    "at.kind.certificate_of_origin": ("Certificate of origin", "Giấy chứng nhận xuất xứ"),
    "at.kind.ocop_rating": ("OCOP rating", "Xếp hạng OCOP"),
    "at.kind.food_safety_test": ("Food safety test", "Phiếu kiểm nghiệm an toàn thực phẩm"),
    "at.kind.import_declaration": ("Import declaration", "Tờ khai nhập khẩu"),
    "at.kind.other": ("Other document", "Giấy tờ khác"),
    "at.level.low": ("low", "thấp"),
    "at.level.substantial": ("substantial", "đáng kể"),
    "at.level.high": ("high", "cao"),
    "at.compliance_explain": (
        "A stream session may go live when your identity is verified and every listing it "
        "shows is backed by stock and by valid product documents.",
        "Một phiên live đủ điều kiện khi danh tính của bạn đã được xác minh và mỗi sản phẩm "
        "trong phiên có hàng chính hãng và giấy tờ còn hiệu lực.",
    ),
    "at.checked_at": ("Checked at {time}", "Kiểm tra lúc {time}"),
    "at.compliant": ("Compliant: ready to go live", "Đạt: sẵn sàng phát live"),
    "at.not_compliant": ("Not compliant", "Chưa đạt"),
    "at.missing": ("Missing or wrong", "Còn thiếu hoặc chưa đúng"),
    "at.sessions_none": ("No stream sessions declared yet.", "Chưa khai báo phiên live nào."),
    "at.identity_of": ("Your identity", "Danh tính của bạn"),
    "at.listing": ("Listing {listing} (GTIN {gtin})", "Sản phẩm {listing} (GTIN {gtin})"),
}
