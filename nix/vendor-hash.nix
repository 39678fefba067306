"sha256-9LDlfTNfxc3rwE3ouN+lxzwoZMsXEBW+uWxfJdzfnX8="
