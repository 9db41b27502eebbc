## 季节性安全提醒活动（中文）。

campaign-all-districts = 全市各区县
campaign-follow-up-header = 🔁 <b>再次提醒：</b>我们尚未收到您的确认。请按以下内容完成自查后点击下方按钮。
campaign-ack-button = ✅ 我已完成自查
campaign-acked = ✅ <b>已确认完成自查</b>（{ $time }），谢谢配合。
campaign-ack-thanks = 谢谢，您的确认已记录。
campaign-ack-already = 您的确认此前已记录。
campaign-ack-refused = 该确认不属于您。
campaign-unknown = 未知的提醒活动：{ $campaign }。
campaign-out-of-scope = 提醒活动 { $campaign } 涉及您辖区以外的区县。
campaign-error = 操作未成功。
