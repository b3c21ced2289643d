"""The words of the pages, in English and Vietnamese, and how a language is chosen.

``pick_language(accept_language)`` returns ``"vi"`` or ``"en"``: the supported language the
browser prefers most (by q-value, then order); English when it names neither.
``text(lang, key, **values)`` returns a fixed string with its ``{placeholders}`` filled;
values are not escaped here (the page renderers escape everything they print).
Each verdict reason code has a headline (``reason_headline``); codes a newer ledger adds
fall back to the code itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

__all__ = [
    "LANGUAGES",
    "format_date",
    "format_expiry",
    "format_time",
    "language_of",
    "pick_language",
    "reason_headline",
    "step_title",
    "text",
    "zone_label",
]

LANGUAGES = ("en", "vi")

_STRINGS: dict[str, tuple[str, str]] = {
    # verdict banner: headline, one-line explanation
    "status.genuine": ("Genuine", "Hàng chính hãng"),
    "status.suspect": ("Suspicious: possibly a copy", "Đáng nghi: mã có thể bị sao chép"),
    "status.counterfeit": ("Counterfeit", "Hàng giả"),
    "status.recalled": ("Recalled: do not buy or use", "Bị thu hồi: không mua, không sử dụng"),
    "status.unverified": ("Not verified", "Chưa xác minh được"),
    "status.invalid": ("This code can't be read", "Không đọc được mã này"),
    "explain.genuine": (
        "Signed by its producer and recorded in a public ledger, from the producer to the "
        "current holder.",
        "Được nhà sản xuất ký số và ghi lại trong sổ cái công khai, từ nhà sản xuất đến người "
        "đang giữ hàng.",
    ),
    "explain.suspect": (
        "The code is real, but where it is offered does not match the item's record: it may "
        "be a copied code.",
        "Mã là thật, nhưng nơi đang bán không khớp với hồ sơ của sản phẩm: mã có thể đã bị "
        "sao chép.",
    ),
    "explain.counterfeit": (
        "This code does not belong to any genuine item of the producer.",
        "Mã này không khớp với bất kỳ sản phẩm chính hãng nào của nhà sản xuất.",
    ),
    "explain.recalled": (
        "The producer has recalled this item. Do not buy or use it.",
        "Nhà sản xuất đã thu hồi sản phẩm này. Không mua, không sử dụng.",
    ),
    "explain.invalid": (
        "Scan it again, or type it carefully: a character may be missing or mistyped. This does "
        "not mean the product is fake.",
        "Hãy quét lại, hoặc nhập mã thật cẩn thận: có thể thiếu hoặc sai một ký tự. Điều này "
        "không có nghĩa là hàng giả.",
    ),
    "explain.unverified": (
        "The producer's signature checks out, but the item's current state could not be read.",
        "Chữ ký của nhà sản xuất hợp lệ, nhưng chưa đọc được tình trạng hiện tại của sản phẩm.",
    ),
    # the deciding fact, first on the page: what decided the verdict (evidence filled in)
    "decide.custody_verified": (
        "Made by {producer}; now held by {holder}.",
        "Do {producer} sản xuất; hiện {holder} đang giữ hàng.",
    ),
    "decide.custody_sold": (
        "Made by {producer}; sold to a consumer by its last holder.",
        "Do {producer} sản xuất; đã được bán cho người tiêu dùng.",
    ),
    "decide.seller_not_custodian": (
        "This seller ({seller}) does not hold the item: it is held by {holder}.",
        "Người bán này ({seller}) không giữ món hàng: hàng đang ở chỗ {holder}.",
    ),
    "decide.sold_item_offered": (
        "This item was already sold to a consumer, yet it is offered again.",
        "Món hàng này đã được bán cho người tiêu dùng, nhưng lại đang được rao bán.",
    ),
    "decide.multiple_sellers": (
        "The same item is offered by several sellers: {sellers}.",
        "Cùng một món hàng đang được nhiều người bán rao bán: {sellers}.",
    ),
    "decide.scan_velocity": (
        "This code was scanned in more places at once than one item can be.",
        "Mã này bị quét ở nhiều nơi cùng lúc, hơn mức một món hàng có thể có.",
    ),
    "decide.unknown_seller": (
        "The seller {seller} is not registered, so nobody can show it holds this item.",
        "Người bán {seller} chưa đăng ký, nên không thể chứng minh họ đang giữ món hàng này.",
    ),
    "decide.not_commissioned": (
        "{producer} never made an item with serial {serial}.",
        "{producer} chưa từng sản xuất món hàng nào mang số sê-ri {serial}.",
    ),
    "decide.item_destroyed": (
        "This item was destroyed or taken out of use by its producer.",
        "Món hàng này đã bị tiêu hủy hoặc ngừng lưu hành.",
    ),
    "decide.recalled": (
        "{producer} recalled it. Reason: {reason}",
        "{producer} đã thu hồi sản phẩm. Lý do: {reason}",
    ),
    "decide.recalled_plain": ("{producer} recalled it.", "{producer} đã thu hồi sản phẩm."),
    "decide.malformed_code": (
        "The code could not be read in full: a character may be missing or mistyped.",
        "Không đọc được đầy đủ mã: có thể thiếu hoặc sai một ký tự.",
    ),
    "decide.unsigned_code": (
        "The code has no producer signature part: scan the whole code again.",
        "Mã thiếu phần chữ ký của nhà sản xuất: hãy quét lại toàn bộ mã.",
    ),
    "decide.signature_valid": (
        "The producer's signature is valid, but the ledger could not be asked about this item.",
        "Chữ ký của nhà sản xuất hợp lệ, nhưng chưa hỏi được sổ cái về món hàng này.",
    ),
    "decide.other": ("{headline}.", "{headline}."),
    # what to do
    "todo": ("What to do", "Bạn nên làm gì"),
    "todo.suspect": (
        "Do not pay yet: ask the seller to show the item with its own code.|"
        "Buy from the seller who holds it ({holder}), or from the producer's shops.|"
        "Report this offer: the producer and the platform are told.",
        "Chưa thanh toán: đề nghị người bán cho xem món hàng kèm mã trên chính nó.|"
        "Mua từ người đang giữ hàng ({holder}) hoặc cửa hàng của nhà sản xuất.|"
        "Báo cáo tin rao này: nhà sản xuất và nền tảng sẽ nhận được.",
    ),
    "todo.counterfeit": (
        "Do not buy it, and do not eat, drink or use it.|"
        "Keep the package and the receipt if you bought it already.|"
        "Report it: the producer and the platform are told.",
        "Không mua, không ăn uống hay sử dụng sản phẩm này.|"
        "Nếu đã mua, hãy giữ lại bao bì và hóa đơn.|"
        "Báo cáo sản phẩm: nhà sản xuất và nền tảng sẽ nhận được.",
    ),
    "todo.recalled": (
        "Do not buy it and do not use it.|"
        "If you have it already, stop using it and contact the producer.|"
        "If it is still on sale, report it.",
        "Không mua, không sử dụng.|"
        "Nếu đã mua, hãy ngừng dùng và liên hệ nhà sản xuất.|"
        "Nếu vẫn thấy sản phẩm được bán, hãy báo cáo.",
    ),
    "todo.invalid": (
        "Scan the code again, holding the phone steady and close.|"
        "Or type the code carefully, character by character.",
        "Hãy quét lại mã, giữ điện thoại thật chắc và gần hơn.|"
        "Hoặc nhập lại mã thật cẩn thận, từng ký tự một.",
    ),
    "contact": ("Contact", "Liên hệ"),
    "recall_reason": ("Reason", "Lý do"),
    "recall_date": ("Recalled on", "Ngày thu hồi"),
    # the report form
    "report.button": ("Report this", "Báo cáo"),
    "report.more": (
        "Add a note or a contact (optional)",
        "Thêm ghi chú hoặc liên hệ (không bắt buộc)",
    ),
    "report.reason": ("What is wrong?", "Vấn đề là gì?"),
    "report.reason.counterfeit": ("I think it is fake", "Tôi nghĩ đây là hàng giả"),
    "report.reason.seller_mismatch": (
        "The seller is not who holds it",
        "Người bán không phải người đang giữ hàng",
    ),
    "report.reason.recalled_on_sale": (
        "A recalled product is still on sale",
        "Hàng bị thu hồi vẫn đang được bán",
    ),
    "report.reason.damaged": ("Damaged product or seal", "Sản phẩm hoặc tem niêm phong bị hỏng"),
    "report.reason.other": ("Something else", "Vấn đề khác"),
    "report.text": (
        "What happened (up to 500 characters)",
        "Chuyện gì đã xảy ra (tối đa 500 ký tự)",
    ),
    "report.contact": (
        "Your phone or email, if you want an answer",
        "Số điện thoại hoặc email, nếu bạn muốn được phản hồi",
    ),
    "report.thanks": ("Thank you: your report was sent", "Cảm ơn bạn: báo cáo đã được gửi"),
    "report.thanks_explain": (
        "The producer and the platform see it. One report does not change the verdict others "
        "see; the producer checks it.",
        "Nhà sản xuất và nền tảng sẽ xem báo cáo. Một báo cáo không làm thay đổi kết luận "
        "người khác thấy; nhà sản xuất sẽ kiểm tra.",
    ),
    "report.back": ("Back to the product", "Quay lại trang sản phẩm"),
    "report.refused": ("The report was not sent", "Chưa gửi được báo cáo"),
    # language switch and times
    "language": ("Language", "Ngôn ngữ"),
    "times_in": ("Times in {zone}", "Giờ theo múi giờ {zone}"),
    # viewer sections and fields
    "product": ("Product", "Sản phẩm"),
    "unnamed_product": ("Unnamed product", "Sản phẩm chưa có tên"),
    "gtin": ("GTIN", "Mã GTIN"),
    "serial": ("Serial", "Số sê-ri"),
    "lot": ("Lot", "Số lô"),
    "expiry": ("Expiry", "Hạn sử dụng"),
    "item_status": ("Status", "Tình trạng"),
    "producer": ("Producer", "Nhà sản xuất"),
    "holder": ("Current holder", "Người đang giữ hàng"),
    "timeline": ("Where it has been", "Hành trình của sản phẩm"),
    "claimed": ("What the code claims", "Thông tin ghi trên mã"),
    "timeline_empty": ("No recorded history.", "Chưa có lịch sử nào được ghi lại."),
    "by": ("by {actor}", "Thực hiện: {actor}"),
    "reasons": ("Why this verdict", "Vì sao có kết luận này"),
    "proof": ("Proof in the public log", "Bằng chứng trong sổ cái công khai"),
    "proof_none": (
        "No proof yet: the log has not signed a checkpoint that includes this item's latest event.",
        "Chưa có bằng chứng: sổ cái chưa ký điểm kiểm tra (checkpoint) nào bao gồm sự kiện mới "
        "nhất của sản phẩm này.",
    ),
    "log_index": ("Log index", "Vị trí trong sổ cái"),
    "tree_size": ("Tree size", "Số bản ghi (kích thước cây)"),
    "leaf_hash": ("Leaf hash", "Mã băm của bản ghi"),
    "checkpoint": ("Signed checkpoint", "Điểm kiểm tra (checkpoint) đã ký"),
    "inclusion_path": ("Inclusion path", "Đường dẫn chứng minh"),
    "witnesses": ("Witnesses", "Bên chứng thực"),
    "witnessed": ("witnessed", "đã được chứng thực"),
    "not_witnessed": ("not yet witnessed", "chưa được chứng thực"),
    "cosigned_by": ("co-signed by", "các bên đã cùng ký:"),
    "no_cosigner": ("no witness has co-signed yet", "chưa bên chứng thực nào cùng ký"),
    "proof_howto": (
        "Check it yourself: fetch the entry at this index from the log, hash it as "
        "SHA-256(0x00 || entry), fold in the inclusion path (RFC 9162) and compare the result "
        "with the root hash in the checkpoint; then verify the checkpoint's signature with "
        "the operator's public key. Witnesses co-sign checkpoints, so the ledger cannot show "
        "different histories to different people.",
        "Tự kiểm tra: tải bản ghi ở vị trí này từ sổ cái, tính SHA-256(0x00 || bản ghi), ghép "
        "lần lượt với các mã băm trong đường dẫn chứng minh (RFC 9162) rồi so kết quả với mã "
        "băm gốc trong checkpoint; sau đó kiểm tra chữ ký của checkpoint bằng khóa công khai "
        "của đơn vị vận hành. Các bên chứng thực cùng ký checkpoint, nên sổ cái không thể cho "
        "mỗi người xem một lịch sử khác nhau.",
    ),
    "footer": (
        "Verified by Tracemark: every step is signed and recorded in a public, append-only ledger.",
        "Tracemark xác minh: mỗi bước đều được ký số và ghi vào sổ cái công khai, chỉ được "
        "ghi thêm, không thể sửa hay xóa.",
    ),
    # item statuses
    "item.active": ("With its holder", "Đang được lưu giữ"),
    "item.in_transit": ("In transit", "Đang vận chuyển"),
    "item.sold": ("Sold to a consumer", "Đã bán cho người tiêu dùng"),
    "item.destroyed": ("Destroyed", "Đã tiêu hủy"),
    "item.recalled": ("Recalled", "Đã bị thu hồi"),
    # overlay badge
    "badge.backed": ("Genuine stock verified", "Hàng chính hãng đã xác minh"),
    "badge.not_backed": ("Not backed by verified stock", "Chưa có hàng chính hãng đảm bảo"),
    "badge.recalled": ("Recalled: do not buy", "Đã bị thu hồi: đừng mua"),
    "badge.closed": ("Listing closed", "Đã ngừng bán"),
    "badge.unknown": ("Listing not registered", "Sản phẩm chưa được đăng ký"),
    "badge.stock": ("{stock} in stock", "Còn {stock} sản phẩm"),
    "badge.stock_of": ("{stock} of {quantity} in stock", "Còn {stock}/{quantity} sản phẩm"),
    "badge.recall_note": ("The producer recalled this product", "Nhà sản xuất đã thu hồi hàng"),
    "badge.scan": ("Scan to verify", "Quét để xác minh"),
    # listing page
    "listing.explain.backed": (
        "The seller holds genuine stock of this product, recorded in the public ledger.",
        "Người bán đang giữ hàng chính hãng của sản phẩm này, được ghi trong sổ cái công khai.",
    ),
    "listing.explain.not_backed": (
        "The seller does not hold enough verified genuine stock for this offer.",
        "Người bán không có đủ hàng chính hãng đã xác minh cho số lượng đang rao bán.",
    ),
    "listing.explain.recalled": (
        "The producer recalled this product. Do not buy it.",
        "Nhà sản xuất đã thu hồi sản phẩm này. Không mua.",
    ),
    "listing.explain.closed": (
        "The seller has closed this listing.",
        "Người bán đã ngừng bán sản phẩm này.",
    ),
    "listing.live_code": (
        "Genuine live code for this stream, valid until {time}",
        "Mã livestream hợp lệ cho phiên live này, hiệu lực đến {time}",
    ),
    "listing.todo": ("What you can do", "Bạn nên làm gì"),
    "listing.todo.expired": (
        "Scan the code on the live screen now.|Ask the seller to show the current code.",
        "Quét mã đang hiện trên màn hình live.|Đề nghị người bán hiển thị mã hiện tại.",
    ),
    "listing.todo.forged": (
        "Do not pay for this offer.|Report the seller to the platform.",
        "Đừng thanh toán cho món hàng này.|Báo cáo người bán với nền tảng.",
    ),
    "listing.seller": ("Seller", "Người bán"),
    "listing.seller_verified": ("identity verified", "đã xác minh danh tính"),
    "listing.seller_unverified": ("identity not verified", "chưa xác minh danh tính"),
    # the seller's identity and the item's qualifications (attestations, docs/format.md)
    "attested": ("Seller and documents", "Người bán và giấy tờ"),
    "attest.seller": ("Seller", "Người bán"),
    "attest.id.valid": (
        "Identity verified by {issuer} ({level}), until {until}",
        "Danh tính đã được {issuer} xác minh ({level}), đến {until}",
    ),
    "attest.id.expired": (
        "Identity check by {issuer} expired on {until}",
        "Xác minh danh tính của {issuer} đã hết hạn ngày {until}",
    ),
    "attest.id.revoked": (
        "Identity check by {issuer} was withdrawn on {when}",
        "Xác minh danh tính của {issuer} đã bị thu hồi ngày {when}",
    ),
    "attest.id.not_yet_valid": (
        "Identity check by {issuer} counts only from {start}",
        "Xác minh danh tính của {issuer} chỉ có hiệu lực từ {start}",
    ),
    "attest.id.issuer_suspended": (
        "Identity check by {issuer} no longer counts: {issuer} is suspended",
        "Xác minh danh tính của {issuer} không còn giá trị: {issuer} đã bị đình chỉ",
    ),
    "attest.id.other": (
        "Identity check by {issuer} does not count now",
        "Xác minh danh tính của {issuer} hiện không có giá trị",
    ),
    "attest.id.none": (
        "No identity check on record for this seller",
        "Người bán này chưa được xác minh danh tính",
    ),
    "attest.level.low": ("basic", "cơ bản"),
    "attest.level.substantial": ("substantial", "đáng kể"),
    "attest.level.high": ("high", "cao"),
    "attest.docs": ("Product documents", "Giấy tờ của sản phẩm"),
    "attest.docs_none": (
        "No certificate or test report on record for this product",
        "Sản phẩm chưa có giấy chứng nhận hay phiếu kiểm nghiệm nào được ghi nhận",
    ),
    "attest.kind.certificate_of_origin": ("Certificate of origin", "Giấy chứng nhận xuất xứ"),
    "attest.kind.ocop_rating": ("OCOP rating", "Xếp hạng OCOP"),
    "attest.kind.food_safety_test": (
        "Food safety test",
        "Phiếu kiểm nghiệm an toàn thực phẩm",
    ),
    "attest.kind.import_declaration": ("Import declaration", "Tờ khai nhập khẩu"),
    "attest.kind.other": ("Other document", "Giấy tờ khác"),
    "attest.issued_by": ("by {issuer}", "do {issuer} cấp"),
    "attest.for_lot": ("lot {lot}", "lô {lot}"),
    "attest.q.valid": ("valid until {until}", "còn hiệu lực đến {until}"),
    "attest.q.expired": ("expired on {until}", "đã hết hạn ngày {until}"),
    "attest.q.revoked": ("withdrawn on {when}", "đã bị thu hồi ngày {when}"),
    "attest.q.not_yet_valid": ("valid only from {start}", "chỉ có hiệu lực từ {start}"),
    "attest.q.issuer_suspended": (
        "no longer counts: its issuer is suspended",
        "không còn giá trị: bên cấp đã bị đình chỉ",
    ),
    "attest.q.document_missing": (
        "the document is missing from the store",
        "không tìm thấy tài liệu trong kho lưu trữ",
    ),
    "attest.q.document_tampered": (
        "the stored document was altered: it does not match what was signed",
        "tài liệu đã bị sửa đổi: không khớp với bản đã ký",
    ),
    "attest.q.other": ("does not count now", "hiện không có giá trị"),
    "attest.open": ("Open the document", "Xem tài liệu"),
    "attest.reason": ("reason: {reason}", "lý do: {reason}"),
    "listing.platform": ("Platform", "Nền tảng"),
    "listing.stream": ("Live stream", "Phiên live"),
    "listing.stock": ("Genuine stock held", "Hàng chính hãng đang giữ"),
    "listing.offered": ("Offered", "Số lượng rao bán"),
    "listing.problems": ("Problems", "Vấn đề"),
    "listing.expired_title": ("This code is from an old stream", "Mã này thuộc một phiên live cũ"),
    "listing.expired_explain": (
        "Codes on a live stream change every few minutes. Scan the code on the live screen "
        "now. If someone sent you this code, it may be a copy.",
        "Mã trên livestream thay đổi vài phút một lần. Hãy quét mã đang hiện trên màn hình "
        "buổi live. Nếu ai đó gửi mã này cho bạn, đó có thể là bản sao.",
    ),
    "listing.forged_title": ("This code is not genuine", "Mã này không hợp lệ"),
    "listing.forged_explain": (
        "Tracemark did not issue this code for this listing and stream: it was altered or "
        "forged. Do not trust the offer it came with.",
        "Tracemark không phát hành mã này cho sản phẩm và phiên live này: mã đã bị sửa hoặc "
        "làm giả. Đừng tin món hàng đang được rao bán kèm mã này.",
    ),
    "listing.unknown_title": ("Listing not found", "Không tìm thấy sản phẩm"),
    "listing.unknown_explain": (
        "No seller has registered this listing with Tracemark.",
        "Chưa có người bán nào đăng ký sản phẩm này với Tracemark.",
    ),
    "listing.unsigned_title": ("Cannot check this code now", "Chưa thể kiểm tra mã lúc này"),
    "listing.unsigned_explain": (
        "The service cannot check live codes at the moment. Try again later.",
        "Dịch vụ tạm thời chưa kiểm tra được mã livestream. Vui lòng thử lại sau.",
    ),
    # overlay for real streams and short codes (issue 18, items 3 and 5)
    "badge.offered": ("{quantity} available", "Còn {quantity} sản phẩm"),
    "overlay.unknown_title": ("Listing not found", "Không tìm thấy sản phẩm"),
    "overlay.unknown_detail": (
        "Check the listing id in the overlay's address",
        "Kiểm tra mã sản phẩm trong địa chỉ overlay",
    ),
    "overlay.type_code": ("On this phone? Type the code", "Xem trên điện thoại này? Nhập mã"),
    "overlay.stale": ("Not updated since {time}", "Chưa cập nhật từ {time}"),
    "overlay.seller_verified": (
        "Seller verified by {issuer}",
        "Người bán được {issuer} xác minh",
    ),
    "overlay.doc": ("1 valid document: {kinds}", "1 giấy tờ hiệu lực: {kinds}"),
    "overlay.docs": ("{count} valid documents: {kinds}", "{count} giấy tờ hiệu lực: {kinds}"),
    # the overlay's short words for document kinds (the viewer page says them in full)
    "overlay.kind.certificate_of_origin": ("origin", "xuất xứ"),
    "overlay.kind.ocop_rating": ("OCOP", "OCOP"),
    "overlay.kind.food_safety_test": ("food safety", "ATTP"),
    "overlay.kind.import_declaration": ("import", "nhập khẩu"),
    "overlay.kind.other": ("other", "khác"),
    "listing.scan_here": (
        "Verify an item from this live stream",
        "Xác minh sản phẩm trong phiên live này",
    ),
    "short.unknown_title": ("No live stream has this code", "Không có phiên live nào có mã này"),
    "short.unknown_explain": (
        "Check the code on the live screen and type it again: 6 letters and digits, like K7M-2QX.",
        "Hãy xem lại mã trên màn hình live và nhập lại: 6 chữ và số, ví dụ K7M-2QX.",
    ),
    "short.expired_title": ("This stream's code has ended", "Mã của phiên live này đã hết hạn"),
    "short.expired_explain": (
        "A code ends with its live stream. Type the code shown on the live screen now.",
        "Mã hết hạn khi phiên live kết thúc. Hãy nhập mã đang hiện trên màn hình live.",
    ),
    "short.limited_title": ("Too many wrong codes", "Nhập sai mã quá nhiều lần"),
    "short.limited_explain": (
        "Wait a minute, then type the code shown on the live screen.",
        "Vui lòng đợi một phút rồi nhập mã đang hiện trên màn hình live.",
    ),
}

_REASONS: dict[str, tuple[str, str]] = {
    "custody_verified": ("Custody chain verified", "Chuỗi lưu chuyển đã được xác minh"),
    "signature_valid": ("Producer's signature is valid", "Chữ ký của nhà sản xuất hợp lệ"),
    "key_retired": ("Signing key since retired", "Khóa ký nay đã ngừng sử dụng"),
    "unknown_resolver": ("Code points to another website", "Mã dẫn tới một trang web khác"),
    "malformed_code": ("The code could not be read", "Không đọc được mã"),
    "product_only": (
        "This link names a product, not one item: scan the item's own code",
        "Liên kết này chỉ nêu sản phẩm, không phải một món hàng: hãy quét mã trên chính món hàng",
    ),
    "product_recalled": (
        "The producer recalled this product",
        "Nhà sản xuất đã thu hồi sản phẩm này",
    ),
    "lot_recalled": ("The producer recalled this lot", "Nhà sản xuất đã thu hồi lô hàng này"),
    "unknown_producer": ("Unknown producer", "Không rõ nhà sản xuất"),
    "unsigned_code": ("No producer signature", "Không có chữ ký của nhà sản xuất"),
    "signature_invalid": ("Signature does not match", "Chữ ký không khớp"),
    "unknown_key": ("Signed by an unknown key", "Được ký bằng khóa không rõ nguồn gốc"),
    "not_producer_key": ("Not signed by the producer", "Không phải do nhà sản xuất ký"),
    "key_compromised": ("Signing key was compromised", "Khóa ký đã bị lộ"),
    "not_commissioned": (
        "Serial was never produced",
        "Nhà sản xuất chưa từng làm ra món hàng mang số sê-ri này",
    ),
    "key_not_valid_at_issue": (
        "Key was revoked before the item was made",
        "Khóa đã bị thu hồi trước khi sản phẩm được làm ra",
    ),
    "item_destroyed": ("Item was destroyed", "Sản phẩm đã bị tiêu hủy"),
    "recalled": ("Recalled by the producer", "Nhà sản xuất đã thu hồi sản phẩm"),
    "sold_item_offered": (
        "Already sold, offered again",
        "Đã bán cho người mua nhưng lại được rao bán",
    ),
    "seller_not_custodian": (
        "Seller does not hold this item",
        "Người bán không giữ sản phẩm này",
    ),
    "multiple_sellers": ("Offered by several sellers", "Nhiều người bán cùng rao bán một món hàng"),
    "scan_velocity": ("Scanned in too many places", "Mã bị quét ở quá nhiều nơi cùng lúc"),
    "unknown_seller": ("Seller is not registered", "Người bán chưa đăng ký"),
}

_STEPS: dict[str, tuple[str, str]] = {
    "event.commission": ("Produced", "Sản xuất"),
    "event.pack": ("Packed", "Đóng gói"),
    "event.unpack": ("Unpacked", "Mở kiện"),
    "event.ship": ("Shipped", "Xuất hàng"),
    "event.receive": ("Received", "Đã nhận hàng"),
    "event.cancel_shipment": ("Shipment cancelled", "Hủy lô hàng gửi"),
    "event.sell": ("Sold", "Đã bán"),
    "event.claim": ("Ownership claimed", "Người mua xác nhận sở hữu"),
    "event.recall": ("Recalled", "Thu hồi"),
    "event.decommission": ("Taken out of use", "Ngừng lưu hành"),
    "event.repack": ("Repacked", "Đóng gói lại"),
    "listing.declare": ("Listed for sale", "Đăng bán"),
    "listing.close": ("Listing closed", "Ngừng bán"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "vi" else pair[0]


def text(lang: str, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with its placeholders filled (not escaped)."""
    template = _pick(_STRINGS[key], lang)
    return template.format(**values) if values else template


def reason_headline(lang: str, code: str) -> str:
    pair = _REASONS.get(code)
    return _pick(pair, lang) if pair else code.replace("_", " ")


def step_title(lang: str, kind: str) -> str:
    pair = _STEPS.get(kind)
    return _pick(pair, lang) if pair else kind


def pick_language(accept_language: str | None) -> str:
    """``vi`` or ``en`` from an Accept-Language header (RFC 9110 section 12.5.4)."""
    best, best_q = "en", 0.0
    for part in (accept_language or "")[:512].split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:  # strictly greater: the earlier of two equal preferences wins
            best, best_q = primary, q
    return best


def zone_label(moment: dt.datetime) -> str:
    """A moment's offset as people read it: ``GMT+7``, ``GMT+5:30``, ``GMT``."""
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if not minutes:
        return "GMT"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_time(iso: str, lang: str, zone: str = "UTC") -> str:
    """An ISO 8601 time in the IANA ``zone`` (a name checked at start-up), with its offset:
    ``09:00, 23/11/2026 (GMT+7)`` in Vietnamese, ``2026-11-23 09:00 (GMT+7)`` in English."""
    try:
        moment = dt.datetime.fromisoformat(iso).astimezone(_zone(zone))
    except (TypeError, ValueError):
        return str(iso)
    label = zone_label(moment)
    if lang == "vi":
        return moment.strftime("%H:%M, %d/%m/%Y") + f" ({label})"
    return moment.strftime("%Y-%m-%d %H:%M") + f" ({label})"


def format_date(iso: str, lang: str, zone: str = "UTC") -> str:
    """The date of an ISO 8601 time in the IANA ``zone``: ``23/11/2026`` in Vietnamese,
    ``2026-11-23`` in English (the text itself when it is not a time)."""
    try:
        moment = dt.datetime.fromisoformat(iso).astimezone(_zone(zone))
    except (TypeError, ValueError, OverflowError):
        return str(iso)
    return moment.strftime("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d")


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> dt.tzinfo:
    return dt.UTC if name in ("UTC", "") else zoneinfo.ZoneInfo(name)


def language_of(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it names a supported language, else the browser's preference."""
    asked = (query_lang or "").strip().lower()[:8]
    return asked if asked in LANGUAGES else pick_language(accept_language)


def format_expiry(yymmdd: str, lang: str) -> str:
    """A GS1 expiry (YYMMDD; day 00 is the end of the month) as a date."""
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        return yymmdd
    year, month, day = 2000 + int(yymmdd[:2]), yymmdd[2:4], yymmdd[4:]
    if lang == "vi":
        return f"{month}/{year}" if day == "00" else f"{day}/{month}/{year}"
    return f"{year}-{month}" if day == "00" else f"{year}-{month}-{day}"
