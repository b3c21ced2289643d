"""The seller screens' words in English and Vietnamese (joined into ``words.WORDS``)."""

from __future__ import annotations

__all__ = ["SELLER_WORDS"]

SELLER_WORDS: dict[str, tuple[str, str]] = {
    "seller.shipments": ("Receive shipments", "Nhận hàng"),
    "seller.shipments_explain": (
        "Shipments sent to you that you have not received yet. Check the goods, then sign "
        "the receipt with your key.",
        "Các lô hàng gửi cho bạn mà bạn chưa nhận. Kiểm tra hàng rồi ký xác nhận đã nhận "
        "bằng khóa của bạn.",
    ),
    "seller.no_shipments": (
        "No shipment is on its way to you.",
        "Không có lô hàng nào đang gửi đến bạn.",
    ),
    "seller.from": ("From", "Từ"),
    "seller.shipment": ("Shipment", "Lô hàng"),
    "seller.items": ("Items (top level)", "Số mục (cấp trên cùng)"),
    "seller.show_items": ("Show the items", "Xem các mục"),
    "seller.review": ("Review what will be signed", "Xem lại nội dung sẽ ký"),
    "seller.receive": ("Sign: received", "Ký: đã nhận"),
    "seller.recorded": (
        "Recorded in the ledger as entry {index}.",
        "Đã ghi vào sổ cái, mục {index}.",
    ),
    "seller.stock": ("Stock", "Tồn kho"),
    "seller.stock_explain": (
        "The items you hold, by GTIN and lot. Recalled items may not be listed.",
        "Các sản phẩm bạn đang giữ, theo GTIN và lô. Sản phẩm bị thu hồi không được đăng bán.",
    ),
    "seller.no_stock": ("You hold no items yet.", "Bạn chưa giữ sản phẩm nào."),
    "seller.gtin": ("GTIN", "GTIN"),
    "seller.lot": ("Lot", "Lô"),
    "seller.active": ("Sellable", "Có thể bán"),
    "seller.recalled": ("Recalled", "Bị thu hồi"),
    "seller.recalled_mark": ("recalled: do not sell", "bị thu hồi: không được bán"),
    "seller.listings": ("Listings and streams", "Tin đăng và phiên live"),
    "seller.declare": ("Declare a listing", "Khai báo tin đăng"),
    "seller.declare_explain": (
        "A listing offers items you hold: a quantity, or the exact item ids (one per line).",
        "Tin đăng chào bán hàng bạn đang giữ: theo số lượng, hoặc mã từng sản phẩm "
        "(mỗi dòng một mã).",
    ),
    "seller.platform": ("Platform", "Nền tảng"),
    "seller.listing_id": ("Listing id on the platform", "Mã tin đăng trên nền tảng"),
    "seller.listing": ("Listing", "Tin đăng"),
    "seller.quantity": ("Quantity", "Số lượng"),
    "seller.serials": (
        "Or exact item ids, one per line (01/GTIN/21/serial)",
        "Hoặc mã từng sản phẩm, mỗi dòng một mã (01/GTIN/21/serial)",
    ),
    "seller.stream_opt": ("Live stream id (optional)", "Mã phiên live (không bắt buộc)"),
    "seller.stream": ("Stream", "Phiên live"),
    "seller.sign": ("Sign and submit", "Ký và gửi"),
    "seller.session": ("Declare a stream session", "Khai báo phiên live"),
    "seller.session_explain": (
        "Name the live stream and the open listings it shows. If the stream drops, declare "
        "the new stream id with the same session id.",
        "Đặt tên phiên live và các tin đăng đang mở sẽ hiển thị. Nếu live bị ngắt, khai báo "
        "mã live mới với cùng mã phiên.",
    ),
    "seller.session_id": ("Session id", "Mã phiên"),
    "seller.stream_id": ("Stream id", "Mã live"),
    "seller.url": (
        "Stream address (https://, optional)",
        "Địa chỉ live (https://, không bắt buộc)",
    ),
    "seller.session_listings": ("Listings shown", "Tin đăng hiển thị"),
    "seller.no_listings": ("No listings yet.", "Chưa có tin đăng."),
    "seller.no_handle": (
        "Your account has no platform handle: ask the operator to add one before listing.",
        "Tài khoản của bạn chưa có tài khoản nền tảng: hãy nhờ nhà vận hành thêm trước khi "
        "đăng bán.",
    ),
    "seller.your_listings": ("Your listings", "Tin đăng của bạn"),
    "seller.status": ("Status", "Trạng thái"),
    "seller.scans": ("Scans (30 days)", "Lượt quét (30 ngày)"),
    "seller.close_review": ("Close this listing…", "Đóng tin đăng này…"),
    "seller.close": ("Sign: close the listing", "Ký: đóng tin đăng"),
    "seller.obs": ("Add it to OBS", "Thêm vào OBS"),
    "seller.overlay": ("OBS overlay", "Lớp phủ OBS"),
    "seller.pos": ("Corner of the panel", "Góc đặt khung"),
    "seller.pos.br": ("bottom right", "dưới bên phải"),
    "seller.pos.bl": ("bottom left", "dưới bên trái"),
    "seller.pos.tr": ("top right", "trên bên phải"),
    "seller.pos.tl": ("top left", "trên bên trái"),
    "seller.layout": ("Layout", "Bố cục"),
    "seller.layout.corner": ("corner, placed freely", "góc, đặt tự do"),
    "seller.layout.portrait": ("portrait 1080 × 1920", "dọc 1080 × 1920"),
    "seller.layout.landscape": ("landscape 1920 × 1080", "ngang 1920 × 1080"),
    "seller.show": ("Show the overlay", "Hiện lớp phủ"),
    "seller.short": ("Short code and chat link", "Mã ngắn và liên kết cho khung chat"),
    "seller.short_help": (
        "The overlay shows this code: a viewer watching on the phone it would scan with types "
        "it, or taps the link pinned in the chat. It ends a while after the overlay closes.",
        "Lớp phủ hiện mã này: người xem đang xem live trên chính điện thoại dùng để quét có thể "
        "nhập mã, hoặc bấm liên kết được ghim trong khung chat. Mã hết hạn một lúc sau khi "
        "lớp phủ tắt.",
    ),
    "seller.chat_link": ("Link to pin in the chat", "Liên kết để ghim trong khung chat"),
    "seller.copy_chat": ("Copy the chat link", "Sao chép liên kết chat"),
    "seller.overlay_url": ("Overlay address", "Địa chỉ lớp phủ"),
    "seller.obs_help": (
        "In OBS, add a Browser source with this address, sized as the layout says: portrait "
        "1080 × 1920 for a live from a phone, else 1920 × 1080. Portrait and landscape keep "
        "the panel clear of the live platforms' buttons and chat.",
        "Trong OBS, thêm nguồn Browser với địa chỉ này, kích thước theo bố cục: dọc "
        "1080 × 1920 cho live từ điện thoại, còn lại 1920 × 1080. Bố cục dọc và ngang giữ "
        "khung tránh các nút và khung chat của nền tảng live.",
    ),
    "seller.copy": ("Copy the address", "Sao chép địa chỉ"),
    "seller.copied": ("Copied.", "Đã sao chép."),
    "seller.copy_select": (
        "Selected: press Ctrl+C (or long-press, Copy).",
        "Đã chọn: nhấn Ctrl+C (hoặc nhấn giữ, Sao chép).",
    ),
    "seller.preview": ("Live preview", "Xem trước trực tiếp"),
    "seller.scans_title": ("Scans and alerts", "Lượt quét và cảnh báo"),
    "seller.scans_total": (
        "{n} scans in your listings and streams in the last {days} days.",
        "{n} lượt quét trong tin đăng và phiên live của bạn trong {days} ngày qua.",
    ),
    "seller.by_listing": ("By listing", "Theo tin đăng"),
    "seller.by_stream": ("By stream", "Theo phiên live"),
    "seller.vouched": ("Alerts (vouched evidence)", "Cảnh báo (bằng chứng được xác nhận)"),
    "seller.vouched_explain": (
        "Seen in contexts a platform, the overlay or a seller's session vouched for.",
        "Được thấy trong ngữ cảnh do nền tảng, lớp phủ hoặc phiên của người bán xác nhận.",
    ),
    "seller.weak": ("Signals (weak evidence)", "Tín hiệu (bằng chứng yếu)"),
    "seller.weak_explain": (
        "Only anonymous scans said so: not a verdict, and no one else sees them.",
        "Chỉ các lượt quét ẩn danh cho thấy: không phải kết luận, và người khác không thấy.",
    ),
    "seller.none": ("None.", "Không có."),
    "alert.sold_item_offered": ("a sold item is offered", "sản phẩm đã bán lại được chào bán"),
    "alert.seller_not_custodian": (
        "offered by a seller who does not hold it",
        "được chào bán bởi người không giữ hàng",
    ),
    "alert.multiple_sellers": ("offered in several places", "được chào bán ở nhiều nơi"),
}
