"""Live streams: Socket.IO (`/socket.io`) and the WebSocket (`/api/v1/ws`)."""
