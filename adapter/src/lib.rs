//! respub-socketio: a Socket.IO adapter for socketioxide over Redis pub/sub (in progress).
